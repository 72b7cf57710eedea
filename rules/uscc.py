"""Unified social credit code (统一社会信用代码), GB 32100-2015.

An 18-character code: registration authority (1), institution type (1), administrative division (6),
organisation code (9), check character (1), drawn from the 31 characters ``0-9 A-H J-N P-R T U W-Y``.
"""

from __future__ import annotations

import re
from operator import mul

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_CHARACTERS = frozenset(ALPHABET)
FORMAT = re.compile(r"[0-9A-HJ-NPQRTUW-Y]{18}")


def is_well_formed(code: str) -> bool:
    """18 characters, each from the GB 32100 alphabet. A code failing this is rejected at the door."""
    return FORMAT.fullmatch(code) is not None


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters: 31 - (Σ value·weight mod 31)."""
    if len(first17) != 17 or not _CHARACTERS.issuperset(first17):
        raise ValueError(f"need 17 characters of the GB 32100 alphabet, got {first17!r}")
    total = sum(map(mul, map(_VALUE.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def has_valid_check_character(code: str) -> bool:
    """True when a well-formed code's 18th character matches its computed check character."""
    return is_well_formed(code) and check_character(code[:17]) == code[17]

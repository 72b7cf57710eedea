"""The canonical form of formats.md: orjson as the service uses it is byte-identical to json.dumps."""

from __future__ import annotations

import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.lists.service import canonical_bytes, canonical_stream, served_json, sha256_hex

# What an edition holds: str (any Unicode except lone surrogates, which PostgreSQL text cannot store),
# int, None, lists and dicts with string keys.
text_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
scalars = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), text_values)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text_values, inner, max_size=5)),
    max_leaves=40,
)


def reference(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(text_values, documents, max_size=8))
def test_orjson_canonical_equals_json_dumps(obj: dict[str, object]) -> None:
    assert canonical_bytes(obj) == reference(obj)


def test_control_characters_quotes_and_chinese() -> None:
    tricky = "".join(chr(i) for i in range(32)) + '"\\/\u007f\u2028\u2029天河区《》…' + string.printable
    obj = {"z": tricky, "a": [None, 0, -1, "教民1440106号"], "é": {"b": "", "a": "x"}}
    assert canonical_bytes(obj) == reference(obj)


def test_served_document_is_canonical_plus_hash_and_recomputes() -> None:
    obj = {"kind": "white", "seq": 1, "as_of": "2026-11-30", "entries": [{"uscc": "X", "reason": None}]}
    data = canonical_bytes(obj)
    sha = sha256_hex(data)
    served = json.loads(served_json(data, sha))
    assert served["sha256"] == sha
    assert served_json(data, sha) == reference(
        served
    )  # sha256 sorts last: the served bytes are canonical too
    body = {k: v for k, v in served.items() if k != "sha256"}
    assert sha256_hex(reference(body)) == sha


entries_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "uscc": text_values,
            "name": text_values,
            "licence_number": st.none() | text_values,
            "categories": st.lists(text_values, max_size=2),
            "reason": st.none() | text_values,
            "since": text_values,
        }
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    entries_strategy, st.integers(min_value=1, max_value=7), st.none() | st.text(alphabet="0123456789abcdef")
)
def test_streamed_edition_equals_the_whole_document(
    entries: list[dict[str, object]], size: int, prev: str | None
) -> None:
    header = {
        "kind": "white",
        "seq": 3,
        "as_of": "2026-11-30",
        "published_at": "2026-11-30T01:00:00Z",
        "jurisdiction": "440106",
        "prev_sha256": prev,
    }
    batches = [entries[i : i + size] for i in range(0, len(entries), size)] + [[]]
    data, count = canonical_stream(header, iter(batches))
    assert count == len(entries)
    assert data == reference({**header, "entries": entries})

"""The automatic rules, one small function each, grouped by area. Importing this package registers them."""

from rules.checks import ban, fees, registry, risk, staff, training_time

__all__ = ["ban", "fees", "registry", "risk", "staff", "training_time"]

"""The rule engine of the double-reduction supervision service (“双减”校外培训监管规则引擎).

Pure Python: facts in, findings out. It imports nothing from the application, the database or the web.

    from rules import Engine
    ctx = Engine.load("440106").at(datetime.date(2026, 11, 30))
    result = ctx.evaluate(institution_document, accepted_statements)
"""

from rules.catalogue import all_rules
from rules.engine import Context, CoverageCheck, Engine, Jurisdiction
from rules.model import Evaluation, Finding, Rule
from rules.parameters import Resolved
from rules.risk import Risk, risk_tier
from rules.yamlio import DataFileError

__all__ = [
    "Context",
    "CoverageCheck",
    "DataFileError",
    "Engine",
    "Evaluation",
    "Finding",
    "Jurisdiction",
    "Resolved",
    "Risk",
    "Rule",
    "all_rules",
    "risk_tier",
]

"""Every table of the service, imported in one place so Alembic and the tests see the whole schema."""

from supervision.accounts.models import StaffSession, StaffUser
from supervision.compliance.models import Finding, RuleRun
from supervision.core.audit import AuditLog
from supervision.escrow.models import (
    EscrowAccount,
    EscrowEntry,
    EscrowIdempotency,
    EscrowStatement,
    EscrowStatementLine,
    EscrowTransaction,
    InstitutionKey,
    PortalSession,
)
from supervision.registry.models import (
    Course,
    CourseSession,
    CourseSlot,
    Institution,
    Licence,
    Premises,
    PrepaidPackage,
    Teacher,
)

__all__ = [
    "AuditLog",
    "Course",
    "Finding",
    "CourseSession",
    "CourseSlot",
    "EscrowAccount",
    "EscrowEntry",
    "EscrowIdempotency",
    "EscrowStatement",
    "EscrowStatementLine",
    "EscrowTransaction",
    "Institution",
    "InstitutionKey",
    "Licence",
    "PortalSession",
    "Premises",
    "PrepaidPackage",
    "RuleRun",
    "StaffSession",
    "StaffUser",
    "Teacher",
]

"""Every table of the service, imported in one place so Alembic and the tests see the whole schema."""

from supervision.accounts.models import StaffSession, StaffUser
from supervision.cases.models import Complaint, Decision
from supervision.compliance.models import Finding, RuleRun
from supervision.core.audit import AuditLog
from supervision.core.jobs import JobRun
from supervision.core.ratelimit import RateLimitWindow
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
from supervision.lists.models import ListChange, ListEdition, ListEntry
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
    "Complaint",
    "Course",
    "CourseSession",
    "CourseSlot",
    "Decision",
    "EscrowAccount",
    "EscrowEntry",
    "EscrowIdempotency",
    "EscrowStatement",
    "EscrowStatementLine",
    "EscrowTransaction",
    "Finding",
    "Institution",
    "InstitutionKey",
    "JobRun",
    "Licence",
    "ListChange",
    "ListEdition",
    "ListEntry",
    "PortalSession",
    "Premises",
    "PrepaidPackage",
    "RateLimitWindow",
    "RuleRun",
    "StaffSession",
    "StaffUser",
    "Teacher",
]

"""Every table of the service, imported in one place so Alembic and the tests see the whole schema."""

from supervision.accounts.models import StaffSession, StaffUser
from supervision.core.audit import AuditLog
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
    "CourseSession",
    "CourseSlot",
    "Institution",
    "Licence",
    "Premises",
    "PrepaidPackage",
    "StaffSession",
    "StaffUser",
    "Teacher",
]

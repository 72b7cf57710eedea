"""Roles and permissions (角色与权限): the one table that says who may do what.

Every route of the application names one permission from :class:`Perm` (the route table is in
``supervision/web/permissions.py``); a role grants a set of permissions (:data:`GRANTS`). Where an action is
limited to a grid (网格), the service checks :func:`in_grid` against the subject's grid: an officer acts only
in the grids assigned to them, a supervisor in every grid (``enforcement.md``, Roles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from supervision.accounts.models import StaffUser


class Role(StrEnum):
    OFFICER = "officer"
    """执法人员 — works cases, records inspections and proposes decisions in their grids."""
    SUPERVISOR = "supervisor"
    """审核人 — what an officer may, in every grid; assigns cases, approves decisions, publishes lists."""
    ADMIN = "admin"
    """系统管理员 — accounts, grid assignments, institution keys, parameters; never approves a decision."""
    AUDITOR = "auditor"
    """督查 — reads everything, changes nothing."""


class Perm(StrEnum):
    PUBLIC = "public"
    """Anyone, signed in or not: the parents' site, the public API, probes."""
    INSTITUTION = "institution"
    """An institution signed in with its API key (escrow statements, the portal)."""
    STAFF_SIGN_IN = "staff.sign_in"
    """The sign-in and sign-out doors themselves."""
    STAFF_READ = "staff.read"
    """Read anything in the console or the staff API."""
    CASE_WORK = "case.work"
    """Open, work and propose in cases; triage complaints; record inspections (own grids)."""
    CASE_ASSIGN = "case.assign"
    """Assign cases, return proposals, merge cases, confirm dismissals (supervisor)."""
    DECISION_APPROVE = "decision.approve"
    """Approve someone else's proposal (which kinds: :func:`may_approve`)."""
    REGISTRY_WRITE = "registry.write"
    """Create, change and import institutions."""
    REGISTRY_DELETE = "registry.delete"
    RULES_RUN = "rules.run"
    """Start full rule runs and dry runs."""
    LISTS_PUBLISH = "lists.publish"
    KEYS_MANAGE = "keys.manage"
    """Issue and revoke institution API keys."""
    ACCOUNTS_MANAGE = "accounts.manage"


_OFFICER = {Perm.STAFF_READ, Perm.CASE_WORK, Perm.DECISION_APPROVE, Perm.REGISTRY_WRITE}
GRANTS: dict[Role, frozenset[Perm]] = {
    Role.OFFICER: frozenset(_OFFICER),
    Role.SUPERVISOR: frozenset(
        _OFFICER | {Perm.CASE_ASSIGN, Perm.LISTS_PUBLISH, Perm.RULES_RUN, Perm.REGISTRY_DELETE}
    ),
    Role.ADMIN: frozenset(
        {
            Perm.STAFF_READ,
            Perm.REGISTRY_WRITE,
            Perm.REGISTRY_DELETE,
            Perm.RULES_RUN,
            Perm.KEYS_MANAGE,
            Perm.ACCOUNTS_MANAGE,
        }
    ),
    Role.AUDITOR: frozenset({Perm.STAFF_READ}),
}
"""What each role may do. ``public``, ``institution`` and ``staff.sign_in`` need no role."""

SERIOUS_KINDS = frozenset({"suspend_licence", "revoke_licence", "blacklist"})
"""Decisions that need a supervisor's approval and a notice with a statement period first."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user (name, role, grids) or the system (the scheduler, the command line)."""

    username: str
    role: Role | None
    grids: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> str:
        """The name written in events and audit rows (``staff:…`` or ``system:…``)."""
        return self.username if ":" in self.username else f"staff:{self.username}"

    @property
    def is_system(self) -> bool:
        return self.role is None


def actor_of(user: StaffUser) -> Actor:
    """The staff user as an actor: name, role and grids."""
    return Actor(user.username, Role(user.role), frozenset(user.grids or ()))


def system(name: str) -> Actor:
    """The scheduler or the command line acting on its own (``system:follow-up``)."""
    return Actor(f"system:{name}", None)


def can(actor: Actor, perm: Perm) -> bool:
    if perm in (Perm.PUBLIC, Perm.STAFF_SIGN_IN) or actor.is_system:
        return True
    return actor.role is not None and perm in GRANTS[actor.role]


def all_grids(actor: Actor) -> bool:
    """Supervisors, auditors and administrators see and act in every grid; the system too."""
    return actor.is_system or actor.role in (Role.SUPERVISOR, Role.ADMIN, Role.AUDITOR)


def in_grid(actor: Actor, grid: str | None) -> bool:
    """May ``actor`` act on a subject in ``grid``? Officers only in their own grids."""
    return all_grids(actor) or (grid is not None and grid in actor.grids)


def may_approve(actor: Actor, kind: str, lifted_kind: str | None = None) -> bool:
    """Two-person rule, the second person's side: a suspension, revocation or blacklisting, and a lift of
    one of them, need a supervisor; a warning or rectification order (or its lift) any officer or
    supervisor. Whether the approver is not the proposer is checked by the caller."""
    if not can(actor, Perm.DECISION_APPROVE):
        return False
    serious = kind in SERIOUS_KINDS or (kind == "lift" and lifted_kind in SERIOUS_KINDS)
    return actor.role == Role.SUPERVISOR if serious else actor.role in (Role.OFFICER, Role.SUPERVISOR)

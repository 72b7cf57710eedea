"""Staff JSON API for findings (发现问题) and rule runs (规则运行)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from supervision.compliance import service as compliance
from supervision.compliance.schemas import FindingDetail, FindingOut, RuleRunOut, Severity, Status
from supervision.core.pagination import Page, PageParams
from supervision.web.deps import DbSession, PathId, Staff

router = APIRouter(tags=["staff: findings"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in"},
    404: {"description": "no such finding or run"},
    422: {"description": "invalid filter"},
}


@router.get("/api/v1/findings", response_model=Page[FindingOut], responses=ERRORS)
def findings(
    user: Staff,
    session: DbSession,
    rule: str | None = Query(None, max_length=64, description="rule ID, e.g. LIC-EXPIRED"),
    severity: Severity | None = None,
    grid: str | None = Query(None, max_length=50, description="subdistrict (街道)"),
    status: Status | None = Query(None, description="open or resolved (default: both)"),
    uscc: str | None = Query(None, max_length=18, description="the institution's credit code"),
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    """Findings, most severe first, then by rule, credit code and subject."""
    total, items = compliance.search_findings(
        session,
        rule=rule,
        severity=severity,
        grid=grid,
        status=status,
        uscc=uscc,
        limit=paging.page_size,
        offset=paging.offset,
    )
    return Page.of(items, total, paging)


@router.get("/api/v1/findings/{finding_id}", response_model=FindingDetail, responses=ERRORS)
def finding(finding_id: PathId, user: Staff, session: DbSession) -> dict[str, Any]:
    """One finding with its trace and the earlier findings of the same rule and subject."""
    return compliance.get_finding(session, finding_id)


@router.get("/api/v1/rule-runs", response_model=Page[RuleRunOut], responses=ERRORS)
def runs(
    user: Staff,
    session: DbSession,
    scope: Literal["full", "institution"] | None = None,
    paging: PageParams = Depends(),
) -> Page[dict[str, Any]]:
    """Rule runs, newest first: full runs and the re-evaluations of single institutions."""
    total, items = compliance.search_runs(session, scope=scope, limit=paging.page_size, offset=paging.offset)
    return Page.of(items, total, paging)


@router.get("/api/v1/rule-runs/{run_id}", response_model=RuleRunOut, responses=ERRORS)
def run(run_id: PathId, user: Staff, session: DbSession) -> dict[str, Any]:
    return compliance.get_run(session, run_id)

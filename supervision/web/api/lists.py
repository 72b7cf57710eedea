"""List editions as JSON (formats.md), their history and differences, and publication for staff tools."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Response

from supervision.core.errors import Conflict
from supervision.core.pagination import Page, PageParams
from supervision.lists import service as lists
from supervision.lists.schemas import Change, EditionSummary, Kind, PublishAnswer, PublishRequest
from supervision.web.deps import (
    AsOfDate,
    ClockDep,
    DbSession,
    ListDateWindow,
    PathId,
    SettingsDep,
    Staff,
    actor,
)

router = APIRouter(prefix="/api/v1/lists", tags=["public: lists"])
staff_router = APIRouter(prefix="/api/v1/lists", tags=["staff: lists"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such edition (or none published yet)"}}
EDITION_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The edition (formats.md): sha256 is the SHA-256 of the canonical form without sha256",
        "content": {"application/json": {}},
    }
}


def _doc(session: DbSession, ed: dict[str, Any]) -> Response:
    return Response(
        lists.document_bytes(session, ed),
        media_type="application/json",
        headers={"X-Edition-SHA256": ed["sha256"], "ETag": f'"{ed["sha256"]}"'},
    )


@router.get("/{kind}/latest", responses={**EDITION_DOC, **NOT_FOUND})
def latest(kind: Kind, session: DbSession) -> Response:
    return _doc(session, lists.latest(session, kind))


@router.get("/{kind}/editions", response_model=Page[EditionSummary])
def editions(kind: Kind, session: DbSession, paging: PageParams = Depends()) -> Page[EditionSummary]:
    total, rows = lists.editions(session, kind, limit=paging.page_size, offset=paging.offset)
    items = [EditionSummary.model_validate(r) for r in rows]
    return Page.of(items, total, paging)


@router.get("/{kind}/editions/{seq}", responses={**EDITION_DOC, **NOT_FOUND})
def edition(kind: Kind, seq: PathId, session: DbSession) -> Response:
    return _doc(session, lists.edition(session, kind, seq))


@router.get("/{kind}/editions/{seq}/changes", response_model=Page[Change], responses=NOT_FOUND)
def changes(kind: Kind, seq: PathId, session: DbSession, paging: PageParams = Depends()) -> Page[Change]:
    ed = lists.edition(session, kind, seq)
    total, rows = lists.changes(session, ed["id"], limit=paging.page_size, offset=paging.offset)
    return Page.of([Change.model_validate(r) for r in rows], total, paging)


@staff_router.post(
    "/{kind}/publish",
    response_model=PublishAnswer,
    status_code=201,
    responses={
        200: {"description": "an edition of that date was already published; it is returned unchanged"},
        401: {"description": "not signed in"},
        409: {"description": "an edition of a later date is already published"},
        422: {"description": "as_of is outside the window (SUPERVISION_PUBLISH_AHEAD_DAYS ahead of today)"},
    },
)
def publish(
    kind: Kind,
    user: Staff,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    window: ListDateWindow,
    response: Response,
    body: PublishRequest | None = Body(None),
) -> PublishAnswer:
    """Publish the kind's edition as of ``as_of`` (default today): once per kind and date, at most
    ``SUPERVISION_PUBLISH_AHEAD_DAYS`` (7) days ahead of today, and never before the latest edition."""
    as_of = (body.as_of if body else None) or clock.today()
    [out] = lists.publish(
        session,
        as_of=as_of,
        now=clock.now(),
        actor=actor(user),
        jurisdiction=settings.jurisdiction,
        kinds=[kind],
        window=window,
    )
    if out.status == "superseded":
        raise Conflict(f"an edition of the {kind} list later than {as_of} is already published", "superseded")
    if out.status == "already_published":
        response.status_code = 200
        ed = lists.edition(session, kind, out.seq) if out.seq else None
        if ed:
            out.prev_sha256, out.entries = ed["prev_sha256"], ed["entry_count"]
            out.entered, out.left, out.changed = ed["entered_count"], ed["left_count"], ed["changed_count"]
    return PublishAnswer.model_validate(out.as_dict())


@staff_router.get("/preview", responses={401: {"description": "not signed in"}})
def preview(user: Staff, session: DbSession, as_of: AsOfDate) -> dict[str, Any]:
    """How many institutions each list would hold if published now (nothing is stored)."""
    return {"as_of": as_of.isoformat(), "counts": lists.preview(session, as_of)}

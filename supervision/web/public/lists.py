"""The public lists (名单公示): latest editions, history and differences, open-data downloads (JSON, CSV with
BOM), the Atom feed, the negative list and how to recompute an edition's hash."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from supervision.core import csvout, rulebook
from supervision.lists import catalogue
from supervision.lists import service as lists
from supervision.registry import service as registry
from supervision.web.deps import ClockDep, DbSession, SettingsDep
from supervision.web.public import i18n
from supervision.web.public.common import page
from supervision.web.templating import templates

router = APIRouter(include_in_schema=False)

Kind = Literal["white", "warning", "black"]
PAGE_SIZE = 50
CSV_FIELDS = ("uscc", "name", "licence_number", "address", "grid", "categories", "reason", "since")
IMMUTABLE = "public, max-age=31536000, immutable"
LATEST = "public, max-age=60"


def _edition_headers(ed: dict[str, Any], cache: str) -> dict[str, str]:
    return {
        "X-Edition-SHA256": ed["sha256"],
        "X-Edition-Seq": str(ed["seq"]),
        "X-Edition-As-Of": ed["as_of"].isoformat(),
        "ETag": f'"{ed["sha256"]}"',
        "Cache-Control": cache,
    }


def _json(session: DbSession, ed: dict[str, Any], cache: str) -> Response:
    name = f"{ed['kind']}-list-{ed['seq']}-{ed['as_of']}.json"
    return Response(
        lists.document_bytes(session, ed),
        media_type="application/json",
        headers={**_edition_headers(ed, cache), "Content-Disposition": f'inline; filename="{name}"'},
    )


def csv_bytes(session: DbSession, edition_id: int) -> bytes:
    """The entries as CSV: UTF-8 with BOM (so Excel on Chinese Windows opens it), credit-code order; a cell a
    spreadsheet would take for a formula is made plain text (:mod:`supervision.core.csvout`)."""
    return csvout.rows_bytes(
        CSV_FIELDS,
        (
            (
                r.uscc,
                r.name,
                r.licence_number or "",
                r.address,
                r.grid,
                "|".join(r.categories),
                r.reason or "",
                r.since.isoformat(),
            )
            for batch in lists.iter_entries(session, edition_id)
            for r in batch
        ),
    )


def _csv(session: DbSession, ed: dict[str, Any], cache: str) -> Response:
    name = f"{ed['kind']}-list-{ed['seq']}-{ed['as_of']}.csv"
    return Response(
        csv_bytes(session, ed["id"]),
        media_type="text/csv; charset=utf-8",
        headers={**_edition_headers(ed, cache), "Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/lists", response_class=HTMLResponse)
def overview(request: Request, session: DbSession) -> HTMLResponse:
    return page(
        request,
        "public/lists.html",
        {"latest": lists.latest_all(session), "kinds": ("white", "warning", "black")},
    )


@router.get("/lists/feed.atom")
def feed(request: Request, session: DbSession, settings: SettingsDep) -> Response:
    """One Atom entry per published edition, newest first; the title names the service's jurisdiction."""
    _, eds = lists.editions(session, None, limit=200, offset=0)
    base = str(request.base_url).rstrip("/")
    entries = [
        {
            **ed,
            "label": i18n.label_for(i18n.ZH, "list", ed["kind"]),
            "url": f"{base}/lists/{ed['kind']}/editions/{ed['seq']}",
            "published_at": ed["published_at"].isoformat(),
        }
        for ed in eds
    ]
    xml = templates.get_template("public/feed.atom.xml").render(
        jurisdiction=rulebook.engine(settings.jurisdiction).jurisdiction,
        base=base,
        updated=eds[0]["published_at"].isoformat() if eds else "1970-01-01T00:00:00+00:00",
        entries=entries,
    )
    return Response(xml.encode("utf-8"), media_type="application/atom+xml; charset=utf-8")


@router.get("/lists/verify", response_class=HTMLResponse)
def verify(request: Request, session: DbSession) -> HTMLResponse:
    return page(request, "public/verify.html", {"latest": lists.latest_all(session)})


@router.get("/lists/{kind}/latest.json")
def latest_json(kind: Kind, session: DbSession) -> Response:
    return _json(session, lists.latest(session, kind), LATEST)


@router.get("/lists/{kind}/latest.csv")
def latest_csv(kind: Kind, session: DbSession) -> Response:
    return _csv(session, lists.latest(session, kind), LATEST)


@router.get("/lists/{kind}/editions/{seq}.json")
def edition_json(kind: Kind, seq: int, session: DbSession) -> Response:
    return _json(session, lists.edition(session, kind, seq), IMMUTABLE)


@router.get("/lists/{kind}/editions/{seq}.csv")
def edition_csv(kind: Kind, seq: int, session: DbSession) -> Response:
    return _csv(session, lists.edition(session, kind, seq), IMMUTABLE)


def _entries_page(
    request: Request,
    session: DbSession,
    ed: dict[str, Any] | None,
    kind: str,
    q: str | None,
    grid: str | None,
    page_no: int,
    template: str,
    extra: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    total, items = 0, list[dict[str, Any]]()
    if ed is not None:
        total, items = lists.entries(
            session, ed["id"], q=q, grid=grid, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
        )
    return page(
        request,
        template,
        {
            "kind": kind,
            "ed": ed,
            "q": q,
            "grid": grid,
            "grids": registry.grids(request.app.state.settings.jurisdiction),
            "items": items,
            "total": total,
            "page_no": page_no,
            "page_size": PAGE_SIZE,
            **extra,
        },
        status_code=status_code,
    )


@router.get("/lists/{kind}", response_class=HTMLResponse)
def latest_page(
    kind: Kind,
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    q: str | None = Query(None, max_length=100),
    grid: str | None = Query(None, max_length=50),
    page_no: int = Query(1, alias="page", ge=1, le=100_000),
) -> HTMLResponse:
    ed = lists.latest_or_none(session, kind)
    rules = catalogue.by_id(settings.jurisdiction, clock.today())
    return _entries_page(request, session, ed, kind, q, grid, page_no, "public/list.html", {"rules": rules})


@router.get("/lists/{kind}/editions", response_class=HTMLResponse)
def editions_page(
    kind: Kind, request: Request, session: DbSession, page_no: int = Query(1, alias="page", ge=1, le=100_000)
) -> HTMLResponse:
    total, eds = lists.editions(session, kind, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    return page(
        request,
        "public/editions.html",
        {"kind": kind, "editions": eds, "total": total, "page_no": page_no, "page_size": PAGE_SIZE},
    )


@router.get("/lists/{kind}/editions/{seq}", response_class=HTMLResponse)
def edition_page(
    kind: Kind,
    seq: int,
    request: Request,
    session: DbSession,
    clock: ClockDep,
    settings: SettingsDep,
    q: str | None = Query(None, max_length=100),
    grid: str | None = Query(None, max_length=50),
    page_no: int = Query(1, alias="page", ge=1, le=100_000),
) -> HTMLResponse:
    ed = lists.edition(session, kind, seq)
    _, changes = lists.changes(session, ed["id"], limit=500, offset=0)
    rules = catalogue.by_id(settings.jurisdiction, clock.today())
    return _entries_page(
        request,
        session,
        ed,
        kind,
        q,
        grid,
        page_no,
        "public/edition.html",
        {"changes": changes, "rules": rules},
    )


@router.get("/negative-list", response_class=HTMLResponse)
def negative_list(request: Request, clock: ClockDep, settings: SettingsDep) -> HTMLResponse:
    today = clock.today()
    rows = catalogue.negative_list(settings.jurisdiction, today)
    areas: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        areas.setdefault(r["area"], []).append(r)
    return page(request, "public/negative_list.html", {"areas": areas, "today": today})

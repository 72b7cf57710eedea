"""List shapes of the API (名单): editions, their changes, and publication requests and answers. The
edition document itself is the canonical JSON of formats.md, built by :mod:`service`, not a model."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["white", "warning", "black"]


class EditionSummary(BaseModel):
    kind: Kind
    seq: int
    as_of: dt.date
    published_at: dt.datetime
    jurisdiction: str
    prev_sha256: str | None
    sha256: str
    entry_count: int
    entered_count: int
    left_count: int
    changed_count: int


class Change(BaseModel):
    uscc: str
    change: Literal["entered", "left", "changed"]
    name: str
    reason: str | None
    previous_reason: str | None
    why: list[str]


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: dt.date | None = None
    """The list date; default today (Asia/Shanghai)."""


class PublishAnswer(BaseModel):
    kind: Kind
    as_of: dt.date
    status: Literal["published", "already_published"]
    seq: int | None
    sha256: str | None
    prev_sha256: str | None
    entries: int
    entered: int
    left: int
    changed: int

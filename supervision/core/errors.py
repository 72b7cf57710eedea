"""Domain errors with a stable code, mapped to HTTP in one place (``supervision.main``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (a field path or ``file:line``) and what."""

    loc: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg}


@dataclass
class DomainError(Exception):
    """An expected business outcome that stops the request. Never a 500."""

    code: str
    detail: str
    status: int = 400
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{self.code}: {self.detail}"]
        lines += [f"  {p.loc}: {p.msg}" for p in self.problems]
        return "\n".join(lines)

    def headers(self) -> dict[str, str]:
        """Response headers the answer carries (none but for a few errors)."""
        return {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "detail": self.detail,
            "problems": [p.as_dict() for p in self.problems],
        }


class Invalid(DomainError):
    def __init__(self, detail: str, problems: list[Problem]) -> None:
        super().__init__("invalid", detail, 422, problems)


class NotFound(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__("not_found", detail, 404)


class Conflict(DomainError):
    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(code, detail, 409)


class Unauthorized(DomainError):
    def __init__(self, detail: str = "authentication required") -> None:
        super().__init__("unauthorized", detail, 401)


class Forbidden(DomainError):
    def __init__(self, detail: str = "not allowed", code: str = "forbidden") -> None:
        super().__init__(code, detail, 403)


class TooLarge(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__("too_large", detail, 413)


class RateLimited(DomainError):
    """Too many requests from one client in a window (限流): 429, with ``Retry-After`` in seconds."""

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__("rate_limited", detail, 429)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class Unavailable(DomainError):
    """The database is busy (a lock or statement timeout) or out of reach: 503, try again after
    ``Retry-After`` seconds. What the database said goes to the log only."""

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__("unavailable", detail, 503)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


def problems_from_pydantic(
    errors: list[Any], prefix: str = "", hints: dict[str, str] | None = None
) -> list[Problem]:
    """Turn pydantic errors into problems with dotted paths (``courses[0].weekly_slots[1].end``)."""
    out: list[Problem] = []
    for err in errors:
        path = prefix
        for part in err.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in ("body",) and not path:
                continue
            else:
                path = f"{path}.{part}" if path else str(part)
        msg = str(err.get("msg", "invalid"))
        if hints and err.get("type") == "string_pattern_mismatch":
            msg = hints.get(str(err.get("ctx", {}).get("pattern")), msg)
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(Problem(path or "$", msg))
    return out


# ------------------------------------------------------------------------------------ the error answer


class ProblemBody(BaseModel):
    """One thing wrong with the request."""

    loc: str = Field(description="where: a field path (courses[0].title), query.<name>, or file:line")
    msg: str = Field(description="what is wrong, in words")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the JSON API (and of every page asked for as JSON)."""

    error: str = Field(
        description="a stable code: invalid, not_found, conflict, unauthorized, forbidden, too_large, "
        "rate_limited, method_not_allowed, …",
        examples=["invalid"],
    )
    detail: str = Field(description="what happened, in words")
    problems: list[ProblemBody] = Field(description="every problem found, each with where (empty if none)")

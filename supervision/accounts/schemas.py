"""Staff sign-in shapes of the API (登录)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from supervision.core.inputs import Clean


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Annotated[str, Field(max_length=100), Clean]
    password: Annotated[str, Field(max_length=1000)]


class LoginAnswer(BaseModel):
    token: str
    username: str
    role: str
    expires_in_hours: int
    csrf_token: str
    """For a state change made with the console's cookie instead of the token: the ``X-CSRF-Token``."""

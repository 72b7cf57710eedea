"""Staff sign-in shapes of the API (登录)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


class LoginAnswer(BaseModel):
    token: str
    username: str
    role: str
    expires_in_hours: int

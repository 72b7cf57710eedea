"""Wording shared by the checks: weekdays, money in yuan, course labels, parameter values for descriptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

WEEKDAY_ZH = ("", "周一", "周二", "周三", "周四", "周五", "周六", "周日")
WEEKDAY_EN = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STAGE_ZH = {"preschool": "学龄前", "primary": "小学", "junior": "初中", "senior": "高中"}
MODE_ZH = {"online": "线上", "offline": "线下"}
CATEGORY_ZH = {"subject": "学科类", "non_subject": "非学科类"}


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals, e.g. 500001 → '5000.01'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def course_zh(course: Mapping[str, Any]) -> str:
    return f"课程{course['code']}（{course.get('title', '')}）"


def course_en(course: Mapping[str, Any]) -> str:
    return f"Course {course['code']} ({course.get('title', '')})"


def slot_zh(slot: Mapping[str, Any]) -> str:
    return f"{WEEKDAY_ZH[slot['weekday']]}课时{slot['start']}–{slot['end']}"


def slot_en(slot: Mapping[str, Any]) -> str:
    return f"{WEEKDAY_EN[slot['weekday']]} lesson {slot['start']}–{slot['end']}"


def session_zh(session: Mapping[str, Any]) -> str:
    return f"{session['date']}课时{session['start']}–{session['end']}"


def session_en(session: Mapping[str, Any]) -> str:
    return f"lesson on {session['date']} {session['start']}–{session['end']}"


def slot_key(slot: Mapping[str, Any]) -> tuple[int, str, str]:
    return (slot["weekday"], slot["start"], slot["end"])


def session_key(session: Mapping[str, Any]) -> tuple[str, str, str]:
    return (session["date"], session["start"], session["end"])


def slot_id(slot: Mapping[str, Any]) -> str:
    """An order-independent name for a weekly slot in a trace, e.g. 'weekday=3,18:30-21:00'."""
    return f"weekday={slot['weekday']},{slot['start']}-{slot['end']}"


def session_id(session: Mapping[str, Any]) -> str:
    return f"{session['date']},{session['start']}-{session['end']}"


def display_value(name: str, value: Any, lang: str) -> str:
    """A parameter value as a reader sees it in a rule description."""
    if name.endswith("_fen") and isinstance(value, int):
        amount = str(value // 100) if value % 100 == 0 else yuan(value)
        return f"{amount}元" if lang == "zh" else f"{amount} yuan"
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日" if lang == "zh" else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return "、".join(STAGE_ZH.get(v) or v for v in value) if lang == "zh" else ", ".join(value)
    return str(value)

"""Training times (培训时间): rest days, latest end times, online lesson length and breaks.

Times are zero-padded ``HH:MM`` strings, so "ends after 20:30" is the string comparison ``end > "20:30"``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rules.calendar import vacation_label
from rules.catalogue import rule
from rules.model import COMPULSORY, SCHOOL_STAGES
from rules.text import (
    course_en,
    course_zh,
    session_en,
    session_id,
    session_key,
    session_zh,
    slot_en,
    slot_id,
    slot_key,
    slot_zh,
)

if TYPE_CHECKING:
    from rules.engine import Context, Inspection

DOUBLE_REDUCTION = dt.date(2021, 7, 24)
GUOBAN_2018_80 = dt.date(2018, 8, 22)


def _groups(stages: Sequence[str]) -> tuple[str, ...]:
    """Vacation stage groups of a course's stages: compulsory (primary, junior) and senior."""
    groups: tuple[str, ...] = ()
    if any(s in COMPULSORY for s in stages):
        groups += ("compulsory",)
    if "senior" in stages:
        groups += ("senior",)
    return groups


def _rest_day(ctx: Context, day: str, groups: tuple[str, ...]) -> tuple[str, str] | bool | None:
    key = ("rest", day, groups)
    cached = ctx.cache.get(key, key)
    if cached is key:
        cached = ctx.calendar.rest_day_reason(dt.date.fromisoformat(day), groups)
        ctx.cache[key] = cached
    result: tuple[str, str] | bool | None = cached
    return result


TermCheck = tuple[list[tuple[str, str, tuple[dt.date, dt.date]]], list[tuple[int, str, str]]]


def _term(ctx: Context, start: str, end: str, groups: tuple[str, ...]) -> TermCheck:
    key = ("term", start, end, groups)
    cached = ctx.cache.get(key)
    if cached is None:
        cached = ctx.calendar.term_vacations(dt.date.fromisoformat(start), dt.date.fromisoformat(end), groups)
        ctx.cache.put(key, cached, weight=1 + len(cached[0]) + len(cached[1]))
    result: TermCheck = cached
    return result


@rule(
    "TIME-SUBJECT-RESTDAY",
    severity="major",
    area="time",
    title=("在节假日、休息日或寒暑假开展学科类培训", "Subject training on holidays, weekends or vacations"),
    description=(
        "面向{restday.stages}学生的学科类培训，不得占用国家法定节假日、休息日及寒暑假期。"
        "调休上班的周末视为工作日。",
        "Subject training for {restday.stages} students may not take place on statutory holidays, weekends "
        "or in the winter and summer vacations. A weekend day that is an official make-up working day counts "
        "as a working day.",
    ),
    legal_basis=(
        "中办发〔2021〕40号 (not on 法定节假日、休息日、寒暑假); "
        "the calendar is data per jurisdiction and year"
    ),
    parameters=("restday.stages",),
    effective_from=DOUBLE_REDUCTION,
)
def subject_restday(ins: Inspection) -> None:
    """占用节假日、休息日、寒暑假: weekend slots, rest-day sessions, terms overlapping a vacation.

    A dated session on a working day whose rest-day question the calendar cannot answer is an uncovered
    date (counted once per distinct date). A term is judged against the vacations that are known; a
    vacation it might overlap that is not loaded gives no finding and no uncovered dates (the calendar
    coverage check names the missing data), and is named in the trace when the course is reported anyway.
    """
    ctx = ins.ctx
    covered_stages: tuple[str, ...] = ctx.values["restday.stages"]
    for course in ins.doc["courses"]:
        if course["category"] != "subject":
            continue
        stages = [s for s in course["stages"] if s in covered_stages]
        if not stages:
            continue
        groups = _groups(stages)
        code = course["code"]
        zh: list[str] = []
        en: list[str] = []
        facts: dict[str, Any] = {}
        weekend = sorted((s for s in course.get("weekly_slots") or () if s["weekday"] >= 6), key=slot_key)
        for slot in weekend:
            zh.append(f"每{slot_zh(slot)}（周末）")
            en.append(f"every {slot_en(slot)} (weekend)")
            facts[f"courses[{code}].weekly_slots[{slot_id(slot)}].weekday"] = slot["weekday"]
        sessions = course.get("sessions")
        if sessions:
            for session in sorted(sessions, key=session_key):
                day = session["date"]
                reason = _rest_day(ctx, day, groups)
                if reason is None:
                    ins.not_covered(frozenset((dt.date.fromisoformat(day),)))
                elif reason is not False:
                    assert isinstance(reason, tuple)
                    zh.append(f"{session_zh(session)}（{reason[0]}）")
                    en.append(f"{session_en(session)} ({reason[1]})")
                    facts[f"courses[{code}].sessions[{session_id(session)}].date"] = day
        term = course.get("term")
        unknown: list[tuple[int, str, str]] = []
        if term:
            hits, unknown = _term(ctx, term["start"], term["end"], groups)
            for name, group, (first, last) in hits:
                label_zh, label_en = vacation_label(name, group)
                zh.append(f"课程周期{term['start']}至{term['end']}与{label_zh}（{first}至{last}）重叠")
                en.append(f"term {term['start']}–{term['end']} overlaps the {label_en} ({first}–{last})")
            if hits:
                facts[f"courses[{code}].term"] = {"start": term["start"], "end": term["end"]}
        if zh:
            facts[f"courses[{code}].category"] = "subject"
            facts[f"courses[{code}].stages"] = sorted(course["stages"])
            comparison = "; ".join(en) + " is a rest day or vacation"
            if unknown:
                comparison += "; not judged (calendar data not loaded): " + ", ".join(
                    f"{sy}-{(sy + 1) % 100:02d} {group} {name} vacation" for sy, group, name in unknown
                )
            ins.report(
                "TIME-SUBJECT-RESTDAY",
                code,
                f"{course_zh(course)}在休息日或假期开展学科类培训：{'；'.join(zh)}",
                f"{course_en(course)} holds subject training on rest days or in vacations: {'; '.join(en)}",
                facts,
                comparison,
            )


def _late(ins: Inspection, rule_id: str, course: Mapping[str, Any], latest: str, mode_en: str) -> None:
    slots = [s for s in course.get("weekly_slots") or () if s["end"] > latest]
    sessions = [s for s in course.get("sessions") or () if s["end"] > latest]
    if not slots and not sessions:
        return
    code = course["code"]
    slots.sort(key=slot_key)
    sessions.sort(key=session_key)
    zh = [slot_zh(s) for s in slots] + [session_zh(s) for s in sessions]
    en = [slot_en(s) for s in slots] + [session_en(s) for s in sessions]
    facts: dict[str, Any] = {f"courses[{code}].mode": course["mode"]}
    for s in slots:
        facts[f"courses[{code}].weekly_slots[{slot_id(s)}].end"] = s["end"]
    for s in sessions:
        facts[f"courses[{code}].sessions[{session_id(s)}].end"] = s["end"]
    ends = sorted({s["end"] for s in slots} | {s["end"] for s in sessions})
    ins.report(
        rule_id,
        code,
        f"{course_zh(course)}的{'、'.join(zh)}结束时间晚于{latest}",
        f"{course_en(course)}: {', '.join(en)} {'ends' if len(en) == 1 else 'end'} after {latest} "
        f"({mode_en})",
        facts,
        "; ".join(f"{end} > {latest} is true" for end in ends),
    )


@rule(
    "TIME-OFFLINE-LATE",
    severity="major",
    area="time",
    title=("线下培训结束时间过晚", "Offline training ends too late"),
    description=(
        "面向中小学生的线下培训，结束时间不得晚于{time.offline_latest_end}。",
        "Offline training for school students must end by {time.offline_latest_end}.",
    ),
    legal_basis="国办发〔2018〕80号; 教监管〔2022〕4号",
    parameters=("time.offline_latest_end",),
    effective_from=GUOBAN_2018_80,
)
def offline_late(ins: Inspection) -> None:
    """线下培训结束时间: no offline lesson for school students ends after 20:30."""
    latest: str = ins.ctx.values["time.offline_latest_end"]
    for course in ins.doc["courses"]:
        if course["mode"] == "offline" and any(s in SCHOOL_STAGES for s in course["stages"]):
            _late(ins, "TIME-OFFLINE-LATE", course, latest, "offline")


@rule(
    "TIME-ONLINE-LATE",
    severity="major",
    area="time",
    title=("线上培训结束时间过晚", "Online training ends too late"),
    description=(
        "面向义务教育阶段学生的线上培训，结束时间不得晚于{time.online_latest_end}。",
        "Online training for primary and junior students must end by {time.online_latest_end}.",
    ),
    legal_basis="中办发〔2021〕40号",
    parameters=("time.online_latest_end",),
    effective_from=DOUBLE_REDUCTION,
)
def online_late(ins: Inspection) -> None:
    """线上培训结束时间: no online lesson for compulsory-stage students ends after 21:00."""
    latest: str = ins.ctx.values["time.online_latest_end"]
    for course in ins.doc["courses"]:
        if course["mode"] == "online" and any(s in COMPULSORY for s in course["stages"]):
            _late(ins, "TIME-ONLINE-LATE", course, latest, "online")


@rule(
    "TIME-ONLINE-LESSON",
    severity="major",
    area="time",
    title=("线上培训每课时过长", "Online lesson too long"),
    description=(
        "面向义务教育阶段学生的线上培训，每课时不得超过{online.max_lesson_minutes}分钟。",
        "An online lesson for primary and junior students may last at most {online.max_lesson_minutes} "
        "minutes.",
    ),
    legal_basis="中办发〔2021〕40号",
    parameters=("online.max_lesson_minutes",),
    effective_from=DOUBLE_REDUCTION,
)
def online_lesson(ins: Inspection) -> None:
    """线上每课时时长: at most 30 minutes for compulsory-stage students."""
    longest: int = ins.ctx.values["online.max_lesson_minutes"]
    for course in ins.doc["courses"]:
        minutes = course["lesson_minutes"]
        if (
            course["mode"] == "online"
            and minutes > longest
            and any(s in COMPULSORY for s in course["stages"])
        ):
            code = course["code"]
            ins.report(
                "TIME-ONLINE-LESSON",
                code,
                f"{course_zh(course)}为线上培训，每课时{minutes}分钟，超过{longest}分钟",
                f"{course_en(course)} is online with {minutes}-minute lessons, longer than {longest} minutes",
                {f"courses[{code}].mode": "online", f"courses[{code}].lesson_minutes": minutes},
                f"{minutes} > {longest} is true",
            )


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


@rule(
    "TIME-ONLINE-BREAK",
    severity="minor",
    area="time",
    title=("线上培训课间休息不足", "Too short a break between online lessons"),
    description=(
        "线上培训同一天相邻两节课之间的间隔不得少于{online.min_break_minutes}分钟。",
        "Two online lessons on the same day must be at least {online.min_break_minutes} minutes apart.",
    ),
    legal_basis="中办发〔2021〕40号",
    parameters=("online.min_break_minutes",),
    effective_from=DOUBLE_REDUCTION,
)
def online_break(ins: Inspection) -> None:
    """线上课程间隔: consecutive online lessons of a course on one day leave at least 10 minutes."""
    least: int = ins.ctx.values["online.min_break_minutes"]
    for course in ins.doc["courses"]:
        if course["mode"] != "online":
            continue
        slots = course.get("weekly_slots") or ()
        sessions = course.get("sessions") or ()
        if len(slots) < 2 and len(sessions) < 2:
            continue
        short: list[tuple[str, str, int]] = []
        days: dict[Any, list[Mapping[str, Any]]] = {}
        for slot in slots:
            days.setdefault(("w", slot["weekday"]), []).append(slot)
        for session in sessions:
            days.setdefault(("d", session["date"]), []).append(session)
        for (kind, _), lessons in sorted(days.items()):
            if len(lessons) < 2:
                continue
            lessons.sort(key=lambda s: (s["start"], s["end"]))
            for before, after in itertools.pairwise(lessons):
                gap = _minutes(after["start"]) - _minutes(before["end"])
                if gap < least:
                    if kind == "w":
                        short.append(
                            (
                                slot_zh(before) + "与" + slot_zh(after),
                                slot_en(before) + " and " + slot_en(after),
                                gap,
                            )
                        )
                    else:
                        short.append(
                            (
                                session_zh(before) + "与" + session_zh(after),
                                session_en(before) + " and " + session_en(after),
                                gap,
                            )
                        )
        if short:
            code = course["code"]
            ins.report(
                "TIME-ONLINE-BREAK",
                code,
                f"{course_zh(course)}的线上课程间隔不足{least}分钟："
                + "；".join(f"{zh}间隔{gap}分钟" for zh, _, gap in short),
                f"{course_en(course)}: online lessons less than {least} minutes apart: "
                + "; ".join(f"{en} are {gap} minutes apart" for _, en, gap in short),
                {
                    f"courses[{code}].mode": "online",
                    "gaps": [{"lessons": en, "minutes": gap} for _, en, gap in short],
                },
                "; ".join(f"{gap} < {least} is true" for _, _, gap in short),
            )

"""The layers hold: rules/ is pure, the web layer goes through services, core/ depends on no area."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_OR_WEB = ("sqlalchemy", "sqlmodel", "psycopg", "fastapi", "starlette", "httpx", "jinja2", "alembic")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if a.name.islower())
    return names


def modules(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, folder
    return files


def offenders(folder: str, banned: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(folder)
        for name in sorted(imports(path))
        if any(name == b or name.startswith(b + ".") for b in banned)
    ]


def test_rules_is_pure_python() -> None:
    assert offenders("rules", ("supervision", "scheduler", *DATABASE_OR_WEB)) == []


def test_core_depends_on_no_area() -> None:
    areas = [p.name for p in (ROOT / "supervision").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    banned = tuple(f"supervision.{a}" for a in areas if a != "core")
    assert offenders("supervision/core", banned) == []


def test_web_goes_through_services() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("supervision/web")
        for name in sorted(imports(path))
        if name.endswith(".queries") or name.startswith("sqlalchemy") or name.startswith("psycopg")
    ]
    assert bad == []


def test_scheduler_does_not_use_the_web_layer() -> None:
    if not (ROOT / "scheduler").exists():
        return
    assert offenders("scheduler", ("supervision.web", "fastapi", "starlette")) == []

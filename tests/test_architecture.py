"""The layers hold: rules/ is pure, the web layer goes through services, core/ depends on no area."""

from __future__ import annotations

import ast
import re
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


# ---------------------------------------------------------------------------------------- one shape per area

NOT_AREAS = {"core", "web", "demo", "cli"}
AREA_FILES = ("models.py", "schemas.py", "queries.py", "service.py")


def areas() -> list[Path]:
    return sorted(
        p
        for p in (ROOT / "supervision").iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_AREAS
    )


def test_every_area_has_the_same_files() -> None:
    found = areas()
    assert {p.name for p in found} >= {"accounts", "registry", "compliance", "escrow", "lists", "cases"}
    missing = [f"supervision/{p.name}/{f}" for p in found for f in AREA_FILES if not (p / f).is_file()]
    assert missing == []


# ---------------------------------------------------------------------------------- SQL lives in queries.py

SQL_START = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+(\w+\s+)?SET\s|DELETE\s+FROM\s|COPY\s+\w+|TRUNCATE\s+\w+"
    r"|CREATE\s+(TEMP\s+|TEMPORARY\s+)?(TABLE|INDEX)\s|WITH\s+\w+\s+AS\s+(MATERIALIZED\s+)?\(|ANALYZE\s+\w+)",
    re.IGNORECASE,
)
"""A string that starts like an SQL statement (case-insensitive: ``select id from ...`` counts too)."""
SQL_BUILDERS = {"text", "select", "insert", "update", "delete", "literal_column", "table"}
"""SQLAlchemy / SQLModel functions that build a statement."""
SQL_MODULES = ("sqlalchemy", "sqlmodel")
SQL_ALLOWED = {
    "supervision/db.py": "the engine and the test databases (CREATE DATABASE, SELECT 1)",
    "supervision/core/jobs.py": "the scheduler's job table, shared and domain-free",
    "supervision/core/ratelimit.py": "the rate-limit windows, shared and domain-free",
    "supervision/compliance/facts.py": "read by the pool workers, which start without SQLAlchemy",
}
"""Files outside a queries.py that may hold SQL, and why; ``supervision/demo/`` (demo data) too."""


def _string_value(node: ast.AST) -> str | None:
    """The text of a string literal or f-string (its literal parts), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_string_value(v) or " x " for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_value(node.left), _string_value(node.right)
        if left is not None or right is not None:
            return (left or " x ") + (right or " x ")
    return None


def sql_in(source: str, name: str) -> list[str]:
    """Where ``source`` builds or runs SQL: statement builders imported from SQLAlchemy/SQLModel, and string
    literals that read like SQL statements (passed to ``execute`` or kept in a constant), not docstrings."""
    tree = ast.parse(source)
    builders: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SQL_MODULES:
            builders.update(a.asname or a.name for a in node.names if a.name in SQL_BUILDERS)
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name.split(".")[0] in SQL_MODULES)
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in builders:
                found.append(f"{name}:{node.lineno} calls {func.id}()")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in SQL_BUILDERS
                and isinstance(func.value, ast.Name)
                and func.value.id in modules
            ):
                found.append(f"{name}:{node.lineno} calls {func.value.id}.{func.attr}()")
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)) and id(node) not in docstrings:
            value = _string_value(node)
            if value is not None and SQL_START.match(value):
                found.append(f"{name}:{node.lineno} SQL text {value.strip()[:40]!r}")
    return found


def sql_allowed(rel: str) -> bool:
    path = Path(rel)
    return (
        path.name in ("queries.py", "models.py")  # models: DDL (index predicates, server defaults)
        or rel in SQL_ALLOWED
        or rel.startswith("supervision/demo/")
    )


def test_sql_only_in_queries() -> None:
    found = [
        hit
        for path in modules("supervision")
        if not sql_allowed(rel := path.relative_to(ROOT).as_posix())
        for hit in sql_in(path.read_text(encoding="utf-8"), rel)
    ]
    assert found == []


def test_the_sql_check_sees_sql() -> None:
    """The check above would catch each way a service could hold SQL (and passes what is not SQL)."""
    bad = {
        "from sqlalchemy import text\nx = text('anything')": "text()",
        "import sqlalchemy as sa\nx = sa.text('anything')": "sa.text()",
        "from sqlmodel import select\nq = select(A)": "select()",
        "def f(s):\n    s.execute('SELECT 1')": "SELECT",
        "def f(s, t):\n    s.execute(f'delete from {t} WHERE id = 1')": "delete from",
        "Q = 'UPDATE account SET balance = 0'": "UPDATE",
        "Q = '''\nINSERT INTO audit_log VALUES (1)'''": "INSERT",
        "def f(c):\n    c.copy('COPY t (a) FROM STDIN')": "COPY",
        "Q = 'WITH latest AS (SELECT 1) ' + 'SELECT * FROM latest'": "WITH",
    }
    for source, what in bad.items():
        assert sql_in(source, "bad.py"), what
    good = '"""SELECT nothing: a docstring."""\nx = "selected institutions"\ny = "Update your key"\n'
    assert sql_in(good, "good.py") == []
    assert sql_allowed("supervision/registry/queries.py") and not sql_allowed(
        "supervision/registry/service.py"
    )


# ------------------------------------------------------------------------------------- no schemas in web/


def pydantic_models(source: str, name: str) -> list[str]:
    """Classes deriving from a pydantic model (``BaseModel``, ``RootModel``, any class from pydantic)."""
    tree = ast.parse(source)
    pydantic_names = {"BaseModel", "RootModel"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pydantic":
            pydantic_names.update(a.asname or a.name for a in node.names)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", None)
                if isinstance(base, ast.Subscript):
                    inner = base.value
                    base_name = inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", None)
                if base_name in pydantic_names:
                    found.append(f"{name}:{node.lineno} class {node.name}")
    return found


def test_no_schemas_in_web() -> None:
    found = [
        hit
        for path in modules("supervision/web")
        for hit in pydantic_models(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())
    ]
    assert found == []


def test_the_schema_check_sees_models() -> None:
    assert pydantic_models("from pydantic import BaseModel\nclass A(BaseModel):\n    x: int", "a.py")
    assert pydantic_models("import pydantic\nclass A(pydantic.BaseModel):\n    x: int", "a.py")
    assert pydantic_models("from pydantic import RootModel\nclass A(RootModel[list[int]]):\n    pass", "a.py")
    assert pydantic_models("class A:\n    x: int", "a.py") == []

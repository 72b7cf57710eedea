"""Every area has the same files, and the README's table of where things go matches the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_AREAS = {"core", "web", "cli", "demo"}  # shared pieces, HTTP, the command line, demo data
AREA_FILES = ("models.py", "schemas.py", "queries.py", "service.py")


def areas() -> set[str]:
    """The area folders of supervision/: packages other than the shared ones."""
    return {
        p.name
        for p in (ROOT / "supervision").iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_AREAS
    }


def readme_folders() -> set[str]:
    """The supervision/ folders named in the first column of the README's "Where things go" table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where things go", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `supervision/(\w+)/` \|", section, flags=re.MULTILINE))


def test_every_area_has_models_schemas_queries_and_service() -> None:
    assert areas(), "no area folders found"
    missing = [
        f"supervision/{area}/{name}"
        for area in sorted(areas())
        for name in AREA_FILES
        if not (ROOT / "supervision" / area / name).is_file()
    ]
    assert missing == []


def test_the_readme_table_names_every_area_and_only_folders_that_exist() -> None:
    named = readme_folders()
    assert named - NOT_AREAS == areas()
    assert [f for f in sorted(named) if not (ROOT / "supervision" / f / "__init__.py").exists()] == []


def readme_extras() -> dict[str, set[str]]:
    """The named extras (``name.py``) the README's table gives for each supervision/ folder."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where things go", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `supervision/(\w+)/` \|(.*)\|$", section, flags=re.MULTILINE)
    return {folder: set(re.findall(r"`(\w+\.py)`", text)) for folder, text in rows}


def test_the_readme_names_every_extra_of_an_area_and_only_files_that_exist() -> None:
    extras = readme_extras()
    for area in sorted(areas()):
        files = {p.name for p in (ROOT / "supervision" / area).glob("*.py")} - {"__init__.py", *AREA_FILES}
        assert extras[area] == files, area

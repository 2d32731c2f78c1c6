"""Helpers the test files share: editing a project's files the way a writer would, reading a built site's links.

Fixtures and the example project's copies are in conftest.py; plain functions are here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from policygen.links import Pages, follow
from policygen.output import Output

# A third party's analytics cookie, as a tenant.yaml's `trackers` lists it: tests add or change its other facts.
GA_TRACKER: dict[str, Any] = {
    "id": "ga",
    "name": "_ga",
    "provider": "Google Analytics",
    "party": "third",
    "purpose": "Counts visits",
    "category": "analytics",
    "duration": "13 months",
}


def edit(file: Path, old: str, new: str, *, once: bool = False) -> None:
    """Replace the first *old* in *file* with *new*; *old* must be there (and only once, with once=True)."""
    text = file.read_text(encoding="utf-8")
    if once:
        assert text.count(old) == 1, f"{old!r} not once in {file}"
    else:
        assert old in text, f"{old!r} not in {file}"
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_facts(project: Path, slug: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a tenant's facts as data: *change* edits the parsed tenant.yaml, which is written back."""
    file = project / "tenants" / slug / "tenant.yaml"
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def set_facts(project: Path, slug: str, change: Mapping[str, object]) -> None:
    """Set top-level facts of a tenant; a None value removes the fact (it becomes unknown)."""

    def apply(data: dict[str, Any]) -> None:
        for key, value in change.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    edit_facts(project, slug, apply)


def dead_links(outputs: list[Output]) -> list[str]:
    """The links of a whole site in hand that lead to no file or no id, as check says them ("page: link 'href' why")."""
    pages = Pages(outputs)
    dead, _ = follow(pages, pages)
    return [f"{link.page}: link '{link.href}' {problem}" for link, problem in dead]


def see_also_clause(project: Path, slug: str, text: str) -> Path:
    """A clause of the tenant's own, "See also" (id `extra`), at the end of its privacy policy, saying *text*: its
    Markdown starts on line 6 of the file, which is returned."""
    folder = project / "tenants" / slug / "content" / "privacy-policy"
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "extra.md"
    file.write_text(f"---\nid: extra\ntitle: See also\norder: 175\n---\n{text}\n", encoding="utf-8")
    return file


def built_files(out: Path, tenant: str) -> list[Output]:
    """Every file of a built output folder, as the tenant's pages (for dead_links)."""
    return [
        Output(p.relative_to(out).as_posix(), "page", p.read_bytes(), tenant=tenant)
        for p in sorted(out.rglob("*"))
        if p.is_file()
    ]


def reaped(pid: int) -> bool:
    """Whether the child process *pid* is gone and waited for (no zombie left behind)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under *folder*, by its '/'-separated path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

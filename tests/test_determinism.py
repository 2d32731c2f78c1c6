"""Two builds of the same input are byte-identical, whatever the environment.

The two builds run in separate processes that differ in everything that should
not matter: locale (LC_ALL, LANG), time zone, hash seed, the project's location
on disk, the order the tenant and clause folders were created in, and the order
the operating system lists folders in (the second process reverses every listing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

# Lists every folder backwards, so code that relies on the operating system's order shows it.
CHILD = r"""
import os, sys
if os.environ.get("POLICYGEN_TEST_REVERSE_LISTINGS"):
    real_listdir, real_scandir = os.listdir, os.scandir

    def listdir(path="."):
        return sorted(real_listdir(path), reverse=True)

    class Reversed:
        def __init__(self, path):
            with real_scandir(path) as entries:
                self.entries = iter(sorted(entries, key=lambda e: e.name, reverse=True))
        def __iter__(self):
            return self
        def __next__(self):
            return next(self.entries)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return False
        def close(self):
            pass

    os.listdir = listdir
    os.scandir = lambda path=".": Reversed(path)
from policygen.cli import main
sys.argv = ["policygen", *sys.argv[1:]]
main()
"""


def installed_locales() -> set[str]:
    try:
        found = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout.split()
    except OSError:
        return set()
    return {name.lower().replace("utf-8", "utf8") for name in found}


def a_locale(*wanted: str) -> str:
    """The first of *wanted* that this machine has, else C.UTF-8 (the test then still varies LANG)."""
    have = installed_locales()
    return next((w for w in wanted if w.lower().replace("utf-8", "utf8") in have), "C.UTF-8")


ENVIRONMENTS = [
    {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC", "PYTHONHASHSEED": "0"},
    {
        "LC_ALL": a_locale("tr_TR.UTF-8", "de_DE.UTF-8"),
        "LANG": "tr_TR.UTF-8",
        "TZ": "Pacific/Kiritimati",
        "PYTHONHASHSEED": "4242",
        "POLICYGEN_TEST_REVERSE_LISTINGS": "1",
    },
    {
        "LC_ALL": a_locale("ja_JP.UTF-8", "ar_EG.UTF-8", "de_DE.UTF-8"),
        "LANG": "ar_EG.UTF-8",
        "TZ": "America/Los_Angeles",
        "PYTHONHASHSEED": "random",
    },
]


def copy_in_order(src: Path, dest: Path, reverse: bool) -> None:
    """Copy a folder tree creating entries in sorted or reverse-sorted order."""
    dest.mkdir(parents=True)
    for entry in sorted(src.iterdir(), key=lambda p: p.name, reverse=reverse):
        if entry.name in {"build", "__pycache__"} or entry.name.startswith("."):
            continue
        if entry.is_dir():
            copy_in_order(entry, dest / entry.name, reverse)
        else:
            shutil.copy2(entry, dest / entry.name)


def make_project(dest: Path, reverse: bool) -> Path:
    for name in ("content", "themes", "tenants"):
        copy_in_order(REPO / name, dest / name, reverse)
    if (REPO / "policygen.yaml").exists():
        shutil.copy2(REPO / "policygen.yaml", dest / "policygen.yaml")
    return dest


def build(project: Path, out: Path, env: dict[str, str], *extra: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "POLICYGEN_"))}
    environ.update(env)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "-C", str(project), "build", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return sorted(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))


@pytest.mark.slow
def test_builds_are_byte_identical_across_locale_time_zone_hash_seed_and_folder_order(tmp_path: Path) -> None:
    trees = []
    for i, env in enumerate(ENVIRONMENTS):
        project = make_project(tmp_path / f"copy-{i}" / ("p" * (i + 1)), reverse=i % 2 == 1)
        build(project, tmp_path / f"out-{i}", env, "--today", "2026-06-01")
        trees.append(tree(tmp_path / f"out-{i}"))
    assert len(trees[0]) > 50
    assert differences(trees[0], trees[1]) == []
    assert differences(trees[0], trees[2]) == []


@pytest.mark.slow
def test_without_today_the_build_date_is_the_utc_date_in_every_time_zone(tmp_path: Path) -> None:
    day = dt.datetime.now(dt.UTC).date()
    for i, env in enumerate(ENVIRONMENTS[1:]):
        build(make_project(tmp_path / f"p{i}", reverse=False), tmp_path / f"out-{i}", env)
    if dt.datetime.now(dt.UTC).date() != day:
        pytest.skip("the UTC date changed during the test")
    build(
        make_project(tmp_path / "utc", reverse=False), tmp_path / "out-utc", ENVIRONMENTS[0], "--today", day.isoformat()
    )
    reference = tree(tmp_path / "out-utc")
    assert differences(reference, tree(tmp_path / "out-0")) == []
    assert differences(reference, tree(tmp_path / "out-1")) == []


@pytest.mark.slow
def test_no_output_contains_the_project_path_or_the_user_name(tmp_path: Path) -> None:
    project = make_project(tmp_path / "a-very-unusual-folder-name", reverse=False)
    build(project, tmp_path / "out", ENVIRONMENTS[0], "--today", "2026-06-01")
    leaks = [
        p.relative_to(tmp_path / "out").as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file() and (b"a-very-unusual-folder-name" in p.read_bytes() or str(tmp_path).encode() in p.read_bytes())
    ]
    assert leaks == []

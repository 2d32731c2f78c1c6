"""A cold build's stamp, its tenant folders walked before the swap (policygen/statcache.py: Ahead): while the kernel
writes the new site to disk (output.flushing), the build walks the tenant folders it wrote in the staging folder,
where it would otherwise wait, then walk them in the output. The swap moves them, stat and all, so the stamp is
byte for byte the one a walk after the swap writes. Only where no output is there yet: with one in place, the
previous output's files, which the new site's share, may still change (removed, kept as the spare)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_project

from policygen import statcache
from policygen.engine import build
from policygen.output import spare_folder, stamp_file
from policygen.site import BuildOptions
from policygen.tenantfolders import tenant_slugs

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))


@pytest.fixture
def walked(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The top-level names whose group a build walked ahead, and those it walked after the swap."""
    seen: dict[str, list[str]] = {"ahead": [], "after": []}
    real_ahead, real_group = statcache.Ahead.walk, statcache._walked_group

    def ahead(folder: Path, names: list[str], spool: Path) -> statcache.Ahead | None:
        seen["ahead"] += names
        return real_ahead(folder, names, spool)

    def group(out: Path, name: str) -> Any:
        if out.name == "build":  # not the staging folder: after the swap
            seen["after"].append(name)
        return real_group(out, name)

    monkeypatch.setattr(statcache.Ahead, "walk", ahead)
    monkeypatch.setattr(statcache, "_walked_group", group)
    return seen


def built(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the example project, built once: the project and its output."""
    project = copy_project(tmp_path / "project")
    out = project / "build"
    build(project, out, OPTIONS)
    return project, out


def stamp_is_a_walk_now(project: Path, out: Path) -> bool:
    """Whether the output's stamp is byte for byte the one a walk of the output as it is now writes."""
    recorded = stamp_file(spare_folder(project, out))
    file = recorded.with_name("now.stamp")
    statcache.Stamp.walk(out, os.listdir(out), file)
    return recorded.read_bytes() == file.read_bytes()


def test_a_cold_build_walks_its_tenant_folders_ahead_and_its_stamp_is_a_walk_after_the_swap(
    tmp_path: Path, walked: dict[str, list[str]]
) -> None:
    project, out = built(tmp_path)
    tenants = tenant_slugs(project)
    assert sorted(walked["ahead"]) == tenants
    assert walked["after"] and not set(walked["after"]) & set(tenants)  # the site's own files, and the folder
    assert stamp_is_a_walk_now(project, out)
    assert statcache.Stamp.matches(out, stamp_file(spare_folder(project, out)))


def test_with_an_output_in_place_nothing_is_walked_ahead_and_the_stamp_is_a_walk_after_the_swap(
    tmp_path: Path, walked: dict[str, list[str]]
) -> None:
    project, out = built(tmp_path)
    facts = project / "tenants" / "ims-pro" / "tenant.yaml"
    facts.write_text(facts.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    walked["ahead"].clear()
    report = build(project, out, OPTIONS)
    assert report.rendered_tenants == ["ims-pro"] and walked["ahead"] == []
    assert stamp_is_a_walk_now(project, out)


def test_groups_walked_ahead_are_given_once_each_in_the_stamps_order_and_no_other(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / "site" / name).mkdir(parents=True)
        (tmp_path / "site" / name / "index.html").write_text(name, encoding="utf-8")
    ahead = statcache.Ahead.walk(tmp_path / "site", ["a", "c"], tmp_path)
    assert ahead is not None
    try:
        first, third = ahead.group("a"), ahead.group("c")
        assert first is not None and third is not None
        assert b"index.html" in first and first != third
        assert ahead.group("b") is None and ahead.group("d") is None
    finally:
        ahead.close()


def test_a_folder_holding_a_link_is_not_walked_ahead(tmp_path: Path) -> None:
    (tmp_path / "site" / "a").mkdir(parents=True)
    (tmp_path / "site" / "a" / "link").symlink_to(tmp_path)
    assert statcache.Ahead.walk(tmp_path / "site", ["a"], tmp_path) is None

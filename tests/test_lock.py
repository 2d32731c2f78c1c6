"""The test command installs what requirements.lock pins: the lock must cover pyproject.toml."""

from __future__ import annotations

import tomllib

from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def pins() -> dict[str, Version]:
    lines = (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pairs = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(name): Version(version) for name, version in pairs}


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_lock_line_is_an_exact_pin() -> None:
    lines = (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()
    assert all(line.startswith("#") or line.count("==") == 1 for line in lines if line)


def test_every_dependency_is_pinned_within_its_declared_range() -> None:
    locked = pins()
    missing = [str(r) for r in declared() if canonicalize_name(r.name) not in locked]
    outside = [
        f"{r} (locked {locked[canonicalize_name(r.name)]})"
        for r in declared()
        if canonicalize_name(r.name) in locked and locked[canonicalize_name(r.name)] not in r.specifier
    ]
    assert not missing, f"not in requirements.lock (run ./scripts/lock): {missing}"
    assert not outside, f"locked outside the declared range (run ./scripts/lock): {outside}"

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policygen.site import BuildOptions, BuildReport, build

REPO = Path(__file__).resolve().parent.parent
EXPECTATIONS = Path(__file__).resolve().parent / "expectations"


def copy_project(dest: Path, releases: bool = True) -> Path:
    """A private copy of the example project, so tests can edit facts and clauses freely.

    With releases=False the tenants' released versions (tenants/*/releases/) are left out:
    every document then publishes from the working tree, and edits show at its stable URL.
    """
    for name in ("content", "themes", "tenants"):
        ignore = None if releases or name != "tenants" else shutil.ignore_patterns("releases")
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    for name in ("policygen.yaml",):
        if (REPO / name).exists():
            shutil.copy(REPO / name, dest / name)
    return dest


def many_tenants(dest: Path, count: int) -> Path:
    """The example project with *count* tenants: the examples and copies of them (without releases,
    which belong to the tenant that made them)."""
    copy_project(dest)
    examples = sorted(p for p in (dest / "tenants").iterdir() if p.is_dir())
    for i in range(count - len(examples)):
        seed = examples[i % len(examples)]
        shutil.copytree(seed, dest / "tenants" / f"{seed.name}-{i:03d}", ignore=shutil.ignore_patterns("releases"))
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The example project built once for the whole session (read-only for tests)."""
    out = tmp_path_factory.mktemp("site") / "out"
    return build(REPO, out, BuildOptions())

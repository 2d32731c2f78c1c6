from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import policygen
from policygen import beside, engine, statcache
from policygen.cli import cli
from policygen.engine import BuildReport, build
from policygen.errors import Problem
from policygen.site import BuildOptions

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


def one_tenant_project(dest: Path, facts: dict[str, Any]) -> Path:
    """A project at *dest* with the library, the theme and one tenant, `t`, holding *facts*."""
    for folder in ("content", "themes"):
        shutil.copytree(REPO / folder, dest / folder)
    (dest / "tenants" / "t").mkdir(parents=True)
    (dest / "tenants" / "t" / "tenant.yaml").write_text(yaml.safe_dump(facts, sort_keys=False), encoding="utf-8")
    return dest


def build_one_tenant(dest: Path, facts: dict[str, Any]) -> Path:
    """The built output folder of one_tenant_project(dest, facts), on a fixed build date."""
    project = one_tenant_project(dest, facts)
    return build(project, project / "out", BuildOptions(today=dt.date(2026, 6, 1))).out


@pytest.fixture(scope="session", autouse=True)
def own_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A build signs the templates it compiles with a key in the user's cache folder (policygen/codecache.py):
    the tests use a folder of their own, never the user's (subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("user-cache")))
        yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


@pytest.fixture(params=["by its stat", "by its hash"])
def manifest_told(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How a build tells that the previous manifest still has the bytes it read: by its stat, as when it
    was written more than two seconds before (statcache.SameBytes), or by their hash, as when it was
    written lately (as in most tests, whose builds follow each other closely)."""
    if request.param == "by its stat":
        monkeypatch.setattr(statcache, "RACY_SECONDS", 0)
    else:
        monkeypatch.setattr(statcache.SameBytes, "by_stat", classmethod(lambda cls, f: None))
    return str(request.param)


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    """The example project built once for the whole session (read-only for tests)."""
    out = tmp_path_factory.mktemp("site") / "out"
    return build(REPO, out, BuildOptions())


PACKAGE = Path(policygen.__file__).resolve().parent


@pytest.fixture(autouse=True)
def spawning_tests_are_marked_slow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that starts a process itself (policygen in a subprocess, git, Chromium) must be marked slow,
    so writers' fast run (`./scripts/test -m "not slow"`) leaves it out. What policygen runs inside a
    build (git, to read the committed history) is the build's, not the test's; threads and CliRunner
    are no processes."""
    if request.node.get_closest_marker("slow") is None:
        real = subprocess.Popen.__init__

        def guarded(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
            frame = sys._getframe(1)
            while frame is not None:
                if Path(frame.f_code.co_filename).resolve().is_relative_to(PACKAGE):
                    real(self, *args, **kwargs)
                    return
                frame = frame.f_back
            raise AssertionError(f"{request.node.nodeid} starts a process: mark it @pytest.mark.slow")

        monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield


def example_with_a_change(root: Path) -> Path:
    """The example project with the demo tenant's releases and one more, upcoming and material, so the
    site has every page kind: stable pages, archives, histories, redlines and change notices (also in
    the apps)."""
    project = copy_project(root / "project", releases=True)
    facts = project / "tenants/example-fitness/tenant.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace(
            "purposes:\n",
            "  - id: heart-rate\n    name: Heart Rate Data\n    items: [Heart rate during a workout]\n"
            "    required: false\n    store_types: [health]\n    linked: true\n    tracking: false\n"
            "    ephemeral: false\n    sold: false\n    shared: false\n\npurposes:\n",
            1,
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        [
            "--project",
            str(project),
            "release",
            "example-fitness",
            "--effective",
            "2027-01-01",
            "--released",
            "2026-11-01",
        ],
    )
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture
def both_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild's unchanged tenants placed by this process and by the one forked beside it (policygen/beside.py),
    both surely: forking allowed (the test process may run other threads), for any number of unchanged tenants,
    one tenant a chunk, and each process's first placing waiting (up to 30 s) for the other's."""
    here = os.getpid()
    real = engine._Placing.place

    def place(placing: engine._Placing, slug: str) -> engine.TenantResult | list[Problem] | None:
        mine, other = ("here", "forked") if os.getpid() == here else ("forked", "here")
        (tmp_path / f"{mine} placing").touch()
        deadline = time.monotonic() + 30
        while not (tmp_path / f"{other} placing").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        return real(placing, slug)

    monkeypatch.setattr(engine, "start_method", lambda: "fork")
    monkeypatch.setattr(engine, "BESIDE_MIN_REUSED", 1)
    monkeypatch.setattr(beside, "CHUNK", 1)
    monkeypatch.setattr(engine._Placing, "place", place)

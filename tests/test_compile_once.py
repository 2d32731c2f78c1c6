"""Templates are compiled once per build: the library and the theme before the worker processes start (they
start as copies of the build process), and a clause source once for every page language."""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from pathlib import Path
from typing import Any

import jinja2
import pytest
from helpers import edit

from policygen import engine
from policygen.clauses import is_translation
from policygen.engine import build
from policygen.errors import InputError
from policygen.project import Project, load_project
from policygen.render import ClauseRenderer, clause_environment, render_document
from policygen.sandbox import CompiledCode
from policygen.site import BuildOptions

TODAY = dt.date(2026, 11, 22)


_LOG: list[Path] = []  # where the patched functions below write (a worker process has its copy of this list)


def _log(line: str) -> None:
    with _LOG[0].open("a", encoding="utf-8") as f:
        f.write(f"{line}\n")


def _generating(
    self: jinja2.Environment, source: Any, name: str | None, filename: str | None, *args: Any, **kwargs: Any
) -> str:
    _log(f"compile {os.getpid()} {filename}")
    return _GENERATE(self, source, name, filename, *args, **kwargs)


def _running(slugs: list[str]) -> Any:
    _log(f"worker {os.getpid()}")
    return _RUN(slugs)


_GENERATE = jinja2.Environment._generate
_RUN = engine._worker_run


def _record_compiles(monkeypatch: pytest.MonkeyPatch, log: Path) -> None:
    """Every template compiled, and every batch of tenants a worker renders, written to *log* with the
    process that did it (worker processes are other processes: a list in memory would not see them).
    The worker's function is pickled by name: it must be this module's."""
    _LOG[:] = [log]
    monkeypatch.setattr(jinja2.Environment, "_generate", _generating)
    monkeypatch.setattr(engine, "_worker_run", _running)


def test_worker_processes_compile_no_template_the_build_process_compiled(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    _record_compiles(monkeypatch, log)
    monkeypatch.setattr(engine, "PARALLEL_MIN_TENANTS", 1)
    # The build forks only while its process runs no other thread; pytest's process may still hold
    # threads of earlier tests (a browser, a server), so the fork a build makes is asked for here.
    monkeypatch.setattr(engine, "start_method", lambda: "fork")
    build(project, tmp_path / "out", BuildOptions(today=TODAY, jobs=2))
    lines = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    workers = {pid for kind, pid, *_ in lines if kind == "worker"}
    assert workers and str(os.getpid()) not in workers  # the tenants were rendered in other processes
    compiles = [(pid, file) for kind, pid, *rest in lines if kind == "compile" for file in rest]
    # Ahead: by the build process, and the theme maybe by a child it forks meanwhile (the next tests).
    ahead = {file for pid, file in compiles if pid not in workers}
    assert str(project / "content/privacy-policy/010-introduction.md") in ahead
    assert any(f.endswith("document.html") for f in ahead)  # the theme too
    in_workers = [file for pid, file in compiles if pid in workers]
    # Only what a tenant's pages in another language need: which languages, only the tenants' files say.
    assert in_workers and all(is_translation(Path(file).name) for file in in_workers)
    assert not set(in_workers) & ahead


def _compiles_ahead(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Each template compiled before the workers start (a build whose every tenant goes to a worker, forked), with
    the processes that compiled it: "build" (this one) or "child" (another, not a worker)."""
    log = tmp_path / "log"
    _record_compiles(monkeypatch, log)
    monkeypatch.setattr(engine, "PARALLEL_MIN_TENANTS", 1)
    monkeypatch.setattr(engine, "start_method", lambda: "fork")
    monkeypatch.setattr(engine, "fork_is_safe", lambda: True)  # pytest's process may hold other tests' threads
    build(project, tmp_path / "out", BuildOptions(today=TODAY, jobs=2))
    lines = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    workers = {pid for kind, pid, *_ in lines if kind == "worker"}
    by: dict[str, list[str]] = {}
    for kind, pid, *rest in lines:
        if kind == "compile" and pid not in workers:
            for file in rest:
                by.setdefault(file, []).append("build" if pid == str(os.getpid()) else "child")
    return by


def _theme_template(file: str) -> bool:
    return "/templates/" in file


def test_the_theme_and_partials_are_compiled_by_a_child_while_the_build_process_compiles_the_clauses(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by = _compiles_ahead(project, tmp_path, monkeypatch)
    theme = {file: who for file, who in by.items() if _theme_template(file)}
    assert any(file.endswith("document.html") for file in theme)
    # Once each, by the child: the build process loads them from the project's cache of compiled code.
    assert set(map(tuple, theme.values())) == {("child",)}
    assert by[str(project / "content/_partials/facts.md")] == ["child"]
    assert by[str(project / "content/privacy-policy/010-introduction.md")] == ["build"]


def test_without_a_cache_of_compiled_code_the_build_process_compiles_the_theme_itself(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYGEN_NO_CODE_CACHE", "1")  # nowhere for a child to leave what it compiled
    by = _compiles_ahead(project, tmp_path, monkeypatch)
    theme = [who for file, who in by.items() if _theme_template(file)]
    assert theme and set(map(tuple, theme)) == {("build",)}


def _failing(*_: object) -> bytes:
    raise MemoryError("the child could not compile")


def test_a_child_that_fails_to_compile_the_theme_leaves_it_to_the_build_process_and_the_site_alike(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_compiled_beside", _failing)  # the forked child runs this copy
    by = _compiles_ahead(project, tmp_path, monkeypatch)
    theme = [who for file, who in by.items() if _theme_template(file)]
    assert theme and set(map(tuple, theme)) == {("build",)}
    alone = build(project, tmp_path / "alone", BuildOptions(today=TODAY, jobs=1)).out  # in this process
    assert _tree(tmp_path / "out") == _tree(alone)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"  # (it names the build's options, jobs among them)
    }


def test_worker_processes_start_with_a_fork_server_while_the_build_process_runs_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A forked copy of a lock another thread holds is never released: serve's builds run beside threads.
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert engine.start_method() in ("forkserver", "spawn")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert engine.start_method() == ("fork" if sys.platform == "linux" else "forkserver")


def test_a_library_compiled_ahead_renders_every_document_without_compiling(project: Path) -> None:
    loaded = load_project(project)
    renderer = ClauseRenderer(loaded.content)
    renderer.compile_clauses(loaded.library)
    renderer.compile_partials(loaded.library)
    compiled = renderer.compiled.compiles
    assert compiled > 0
    for slug, tenant in loaded.tenants.items():
        for doc_id, clauses in tenant.documents.items():
            render_document(renderer, slug, tenant.facts, doc_id, clauses, doc_id)
    assert renderer.compiled.compiles == compiled
    assert renderer.renders > 0


def _render_every_page(loaded: Project, renderer: ClauseRenderer, source: bool) -> int:
    """Every tenant's documents rendered in each language it publishes besides the source, and in the source too
    if *source*; how many were rendered in another language."""
    translated = 0
    for slug, tenant in loaded.tenants.items():
        languages = [*([None] if source else []), *tenant.facts.published_languages[1:]]
        for doc_id, clauses in tenant.documents.items():
            for language in languages:
                render_document(renderer, slug, tenant.facts, doc_id, clauses, doc_id, language)
                translated += language is not None
    return translated


def test_a_renderer_parses_each_template_text_once_to_find_its_partials(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_project(project)
    renderer = ClauseRenderer(loaded.content)
    parsed: list[str] = []
    parse = renderer.env.parse
    monkeypatch.setattr(renderer.env, "parse", lambda source, *args: parsed.append(source) or parse(source, *args))
    assert _render_every_page(loaded, renderer, source=True) > 0
    assert parsed and len(parsed) == len(set(parsed))


def test_a_template_text_is_parsed_once_whether_asked_for_its_partials_or_compiled_for_a_page(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A translated clause is asked which partials it imports (is one of them stale?) before its page compiles it:
    # the answer comes from compiling it, which the page's sandbox, configured alike, then finds done. Every
    # sandbox's parses are counted here, not only those of the renderer's own.
    loaded = load_project(project)
    renderer = ClauseRenderer(loaded.content)
    parsed: list[str] = []
    parse = jinja2.Environment._parse
    monkeypatch.setattr(
        jinja2.Environment, "_parse", lambda env, source, *args: parsed.append(source) or parse(env, source, *args)
    )
    assert _render_every_page(loaded, renderer, source=False) > 0
    assert parsed and len(parsed) == len(set(parsed))


def test_a_partial_is_compiled_once_for_every_language_it_has_no_translation_in(project: Path) -> None:
    renderer = ClauseRenderer(project / "content")
    partial = next(iter(load_project(project).library.partials))
    first = renderer.language_env("en").get_template(partial)
    compiled = renderer.compiled.compiles
    second = renderer.language_env("xx").get_template(partial)  # no translation: the same source
    assert renderer.compiled.compiles == compiled
    assert first is not second  # each sandbox has its own template, made from the shared code


def test_sandboxes_configured_differently_never_share_compiled_code(project: Path) -> None:
    store = CompiledCode()
    folders = [project / "content"]
    with_filter = clause_environment(folders, compiled=store)
    without = clause_environment(folders, compiled=store)
    del without.filters["mailto"]
    source = "{{ email|mailto }}"
    with_filter.compile(source, "clause.md", "clause.md")
    with pytest.raises(jinja2.TemplateAssertionError, match="mailto"):
        without.compile(source, "clause.md", "clause.md")


def test_a_library_clause_that_does_not_compile_is_reported_alike_by_workers_and_by_one_process(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clause = project / "content" / "privacy-policy" / "010-introduction.md"
    edit(clause, "\n---\n", "\n---\n{% if %}\n", once=True)
    with pytest.raises(InputError) as serial:
        build(project, tmp_path / "serial", BuildOptions(today=TODAY, jobs=1))
    monkeypatch.setattr(engine, "PARALLEL_MIN_TENANTS", 1)
    with pytest.raises(InputError) as parallel:
        build(project, tmp_path / "parallel", BuildOptions(today=TODAY, jobs=2))
    assert serial.value.problems == parallel.value.problems
    assert any(p.file == clause and "syntax" in p.message for p in parallel.value.problems)

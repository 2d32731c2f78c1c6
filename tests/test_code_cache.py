"""Compiled templates are kept between builds in the project's cache, signed with a key only in the user's
own cache folder (policygen/codecache.py): an entry that was changed, signed with another key or made by
another jinja2 is never loaded (its code never runs) and the template is compiled again; deleting the cache
or turning it off never changes the output."""

from __future__ import annotations

import datetime as dt
import marshal
import os
import pickle
import shutil
import signal
import stat
import types
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

from policygen import codecache, engine, signing
from policygen.engine import build
from policygen.packaged import library_folders
from policygen.project import load_project, project_theme
from policygen.render import clause_environment
from policygen.sandbox import CLAUSE_FILTERS, CLAUSE_LIMITS, BoundedSandbox, CompiledCode
from policygen.site import BuildOptions

OPTIONS = BuildOptions(today=dt.date(2026, 11, 22))
SOURCE = "Hello {{ name }}."


def sandbox(shelf: codecache.SignedCodes) -> tuple[BoundedSandbox, CompiledCode]:
    """A clause sandbox of a fresh process: its store knows nothing but what *shelf* keeps."""
    env = BoundedSandbox(CLAUSE_LIMITS, CLAUSE_FILTERS, loader=jinja2.DictLoader({"clause.md": SOURCE}))
    store = env.compiled = CompiledCode(shelf)
    return env, store


def shelf(folder: Path, key: bytes = b"k" * 32, made_by: bytes = b"this policygen") -> codecache.SignedCodes:
    return codecache.SignedCodes(folder, key, made_by)


def evil(flag: Path) -> types.CodeType:
    """Code that creates *flag* when it runs: what a planted cache entry would do."""
    return compile(f"open({str(flag)!r}, 'w').close()", "clause.md", "exec")


def kept_entry(folder: Path) -> tuple[Path, str]:
    """The one entry in *folder*, made by compiling SOURCE, and the lookup it is kept under."""
    env, store = sandbox(shelf(folder))
    env.get_template("clause.md")
    assert store.compiles == 1
    (entry,) = folder.iterdir()
    (lookup,) = [repr(key) for key in store._codes]
    return entry, lookup


def rendered_without_running(folder: Path, flag: Path) -> None:
    """A fresh process's sandbox finds no entry it trusts: it compiles SOURCE again, and nothing else runs."""
    kept = shelf(folder)
    env, store = sandbox(kept)
    assert env.render(env.get_template("clause.md"), {"name": "Ada"}) == "Hello Ada."
    assert store.compiles == 1 and kept.loaded == 0
    assert not flag.exists()


def test_a_kept_entry_is_loaded_by_the_next_process_instead_of_compiling(tmp_path: Path) -> None:
    kept_entry(tmp_path / "compiled")
    env, store = sandbox(shelf(tmp_path / "compiled"))
    assert env.render(env.get_template("clause.md"), {"name": "Ada"}) == "Hello Ada."
    assert store.compiles == 0


def test_an_entry_whose_bytes_were_changed_under_its_signature_is_never_loaded(tmp_path: Path) -> None:
    entry, _ = kept_entry(tmp_path / "compiled")
    data = entry.read_bytes()
    head = len(codecache._HEADER) + 32  # the header and the signature, kept as they were
    entry.write_bytes(data[:head] + marshal.dumps((evil(tmp_path / "ran"), 0)))
    rendered_without_running(tmp_path / "compiled", tmp_path / "ran")


def test_an_entry_signed_with_another_key_is_never_loaded(tmp_path: Path) -> None:
    entry, lookup = kept_entry(tmp_path / "compiled")
    entry.unlink()
    shelf(tmp_path / "compiled", key=b"x" * 32).store(lookup, evil(tmp_path / "ran"), 0)
    rendered_without_running(tmp_path / "compiled", tmp_path / "ran")


def test_an_entry_made_with_another_jinja2_is_never_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry, lookup = kept_entry(tmp_path / "compiled")
    mine = codecache.maker("code")
    monkeypatch.setattr(jinja2, "__version__", "0.0.1")
    theirs = codecache.maker("code")
    assert theirs != mine
    other = shelf(tmp_path / "compiled", made_by=theirs)
    monkeypatch.setattr(other, "_file", lambda lookup: entry)  # where this policygen looks for it
    other.store(lookup, evil(tmp_path / "ran"), 0)
    monkeypatch.undo()
    rendered_without_running(tmp_path / "compiled", tmp_path / "ran")


def test_entries_another_policygen_made_are_removed_and_this_ones_kept(tmp_path: Path) -> None:
    folder = tmp_path / "compiled"
    kept_entry(folder)
    shelf(folder, made_by=b"an earlier policygen").store("old", compile("", "old", "exec"), 0)
    (folder / "0123abcd").write_bytes(b"an entry named as policygen once named them")
    (folder / "a-folder").mkdir()  # not one of its files: left alone
    assert shelf(folder).prune() == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(["a-folder", kept_entry_name(folder)])
    env, store = sandbox(shelf(folder))
    env.get_template("clause.md")
    assert store.compiles == 0  # this policygen's entry still loads


def kept_entry_name(folder: Path) -> str:
    (name,) = [p.name for p in folder.iterdir() if p.is_file()]
    return name


def test_the_signing_key_is_made_once_readable_by_its_user_alone(tmp_path: Path) -> None:
    folder = tmp_path / "user" / "policygen"
    key = signing.signing_key(folder)
    assert key is not None and len(key) == 32
    info = (folder / signing.KEY_FILE).stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    assert signing.signing_key(folder) == key


@pytest.mark.parametrize("damage", ["readable by others", "another length", "a link"])
def test_a_key_file_others_can_read_or_that_is_not_one_policygen_made_means_no_cache(
    tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "policygen"
    assert signing.signing_key(folder) is not None
    file = folder / signing.KEY_FILE
    if damage == "readable by others":
        file.chmod(0o644)
    elif damage == "another length":
        file.write_bytes(b"short")
    else:
        file.rename(tmp_path / "elsewhere")
        file.symlink_to(tmp_path / "elsewhere")
    assert signing.signing_key(folder) is None


def test_an_unwritable_user_cache_folder_means_no_cache_and_the_build_still_works(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    assert signing.signing_key() is None
    build(project, project / "build", OPTIONS)
    assert not (project / ".cache" / "policygen" / "compiled").exists()


def test_a_user_without_a_home_folder_gets_no_cache_and_nothing_in_the_working_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr("os.path.expanduser", lambda path: path)  # no home in the password database either
    monkeypatch.chdir(project)
    assert signing.user_cache_folder() is None and signing.signing_key() is None
    build(project, project / "build", OPTIONS)
    assert not (project / "~").exists() and not (project / ".cache" / "policygen" / "compiled").exists()


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_build_keeps_what_it_compiled_and_the_output_is_the_same_with_the_cache_deleted_or_turned_off(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(project, tmp_path / "first", OPTIONS)
    kept = project / ".cache" / "policygen" / "compiled"
    assert len(list(kept.iterdir())) > 10  # the library's clauses and the theme's pages
    generated: list[str | None] = []
    real = jinja2.Environment._generate
    monkeypatch.setattr(
        jinja2.Environment,
        "_generate",
        lambda self, source, name, filename, *args: (
            generated.append(filename) or real(self, source, name, filename, *args)
        ),
    )
    build(project, tmp_path / "loaded", OPTIONS)  # a new Builder, as in a new process: loads, compiles no file
    monkeypatch.undo()
    assert not [file for file in generated if file is not None]
    shutil.rmtree(project / ".cache")
    build(project, tmp_path / "deleted", OPTIONS)
    shutil.rmtree(project / ".cache")
    monkeypatch.setenv(codecache.OFF, "1")
    build(project, tmp_path / "off", OPTIONS)
    assert not kept.exists()
    first = tree(tmp_path / "first")
    assert (
        tree(tmp_path / "loaded") == first and tree(tmp_path / "deleted") == first and tree(tmp_path / "off") == first
    )


def test_a_named_pipe_in_place_of_an_entry_or_of_the_key_never_holds_the_build(tmp_path: Path) -> None:
    _, lookup = kept_entry(tmp_path / "compiled")
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("waited on a named pipe"))
    signal.alarm(10)
    try:
        entry = shelf(tmp_path / "compiled")._file(lookup)
        entry.unlink()
        os.mkfifo(entry)
        rendered_without_running(tmp_path / "compiled", tmp_path / "ran")
        (tmp_path / "user").mkdir()
        os.mkfifo(tmp_path / "user" / signing.KEY_FILE, 0o600)
        assert signing.signing_key(tmp_path / "user") is None
    finally:
        signal.alarm(0)


def test_a_compiled_folder_that_is_a_link_is_never_used(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "compiled").symlink_to(tmp_path / "elsewhere")
    assert codecache.signed_codes(tmp_path / "compiled", "code") is None


def test_worker_processes_not_forked_load_and_keep_compiled_code_where_the_build_does(
    project: Path, tmp_path: Path
) -> None:
    # A worker started afresh (spawn, forkserver: serve's builds run beside threads) gets the step pickled.
    builder = engine.Builder(project, tmp_path / "out", OPTIONS)
    builder.build()
    assert builder._renderer is not None and builder._renderer.compiled.shelf is not None
    loaded = load_project(project)
    theme = project_theme(loaded)
    step = engine.Step(loaded, theme, builder._renderer, OPTIONS, "shared", engine.Earliers())
    sent = pickle.loads(pickle.dumps(step.for_workers(["acme"])))
    engine._worker_init(sent)
    kept = sent.renderer.compiled.shelf
    assert isinstance(kept, codecache.SignedCodes) and kept.folder == project / ".cache" / "policygen" / "compiled"
    assert isinstance(sent.theme.env, BoundedSandbox) and sent.theme.env.compiled is not None
    assert sent.theme.env.compiled.shelf is kept
    sent.theme.env.get_template("document.html")
    assert sent.theme.env.compiled.compiles == 0 and kept.loaded > 0  # loaded, as the build kept it


def test_the_partials_kept_with_each_library_templates_code_are_exactly_what_parsing_it_finds(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_project(project)
    folders = library_folders(loaded.content, None)
    templates = [
        (c.body, str(c.file), str(c.file)) for d in loaded.library.documents.values() for c in d.clauses.values()
    ]
    loader = clause_environment(folders).loader
    assert loader is not None
    for name in loaded.library.partials:
        source, file, _ = loader.get_source(clause_environment(folders), name)
        templates.append((source, name, file))
    compiling = clause_environment(folders, compiled=CompiledCode(shelf(tmp_path / "compiled")))
    for source, name, file in templates:
        compiling.compile(source, name, file)
    kept = shelf(tmp_path / "compiled")
    # A new process's sandbox, with only the kept entries: it never parses, every list comes from an entry.
    fresh = clause_environment(folders, compiled=CompiledCode(kept))
    monkeypatch.setattr(fresh, "parse", lambda *args: pytest.fail("parsed a template whose entry was kept"))
    found = [fresh.referenced(source, name, file) for source, name, file in templates]
    parser = clause_environment(folders)
    parsing = [tuple(n for n in jinja2.meta.find_referenced_templates(parser.parse(s)) if n) for s, _, _ in templates]
    assert found == parsing
    assert kept.loaded == len(templates) and any(found) and len(templates) > 20


def test_a_warm_build_parses_no_template_to_find_its_partials(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(project, tmp_path / "first", OPTIONS)
    parsed: list[str] = []
    real = jinja2.Environment.parse
    monkeypatch.setattr(
        jinja2.Environment, "parse", lambda self, source, *args: parsed.append(source) or real(self, source, *args)
    )
    build(project, tmp_path / "loaded", OPTIONS)  # a new Builder, as in a new process
    monkeypatch.undo()
    assert parsed == []
    assert tree(tmp_path / "loaded") == tree(tmp_path / "first")


def test_a_when_expression_is_compiled_once_and_loaded_by_the_next_process(tmp_path: Path) -> None:
    first, store = sandbox(shelf(tmp_path))
    holds = first.compile_expression("apps and 'camera' in apps", undefined_to_none=False)
    assert store.compiles == 1
    assert first.evaluate(holds, {"apps": ["camera"]}) is True
    kept = shelf(tmp_path)
    second, store = sandbox(kept)  # a new process: a one-tenant rebuild's renders in one
    again = second.compile_expression("apps and 'camera' in apps", undefined_to_none=False)
    assert store.compiles == 0 and kept.loaded == 1
    assert second.evaluate(again, {"apps": ["camera"]}) is True
    assert second.evaluate(again, {"apps": ["gps"]}) is False
    # Undefined kept as it is (a clause's sandbox then fails on it), as undefined_to_none=False asks.
    assert isinstance(second.evaluate(second.compile_expression("ap", undefined_to_none=False), {}), jinja2.Undefined)
    assert second.evaluate(second.compile_expression("ap"), {}) is None


def test_a_when_expression_and_a_template_of_the_same_text_never_share_code(tmp_path: Path) -> None:
    env, store = sandbox(shelf(tmp_path))
    assert env.render(env.from_string("name"), {"name": "Ada"}) == "name"
    assert env.evaluate(env.compile_expression("name"), {"name": "Ada"}) == "Ada"
    assert store.compiles == 2


@pytest.mark.parametrize("source", ["apps and", "a b", "x }} {{ y"])
def test_a_when_expression_that_does_not_parse_is_refused_and_never_kept(tmp_path: Path, source: str) -> None:
    env, store = sandbox(shelf(tmp_path))
    with pytest.raises(jinja2.TemplateSyntaxError):
        env.compile_expression(source)
    assert store.compiles == 0 and not any(tmp_path.iterdir())

"""`policygen serve`: build, serve on 127.0.0.1, rebuild on save, reload open pages.

Pieces:
    LiveState   the last outcome's generation, problems, progress and the pages each generation
                changed; wakes the event streams
    Rebuilder   coalesces bursts of file events, then shows the edit in two steps: the tenants it
                touches (or those open pages show) rendered in memory (policygen/preview.py) and
                served at once, then the whole site written by one long-lived engine.Builder in
                another thread once edits pause, with progress when pages wait for it
    Watcher     watchdog observers on content/, themes/, layouts/, static/, tenants/
                and policygen.yaml (polling with --poll, for network and container mounts)
    LiveServer  a threading HTTP server for the files held in memory, then the output folder, plus two
                private URLs: /__policygen/events (server-sent events; a page names itself with ?page=
                and reloads only when it changed) and /__policygen/live.js

The reload script is added to HTML responses by the server only; the files in the
output folder are exactly what `policygen build` writes. A broken edit leaves the
last good pages in place (the build writes atomically; pages held in memory stay) and is
sent to open pages as an overlay with file and line, and to the terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import mimetypes
import queue
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .editorfiles import is_editor_file
from .engine import Builder, BuildReport, counted
from .errors import InputError, Problem, UsageError
from .inputs import CONFIG_FILE, INPUT_FOLDERS, PROJECT_FILES, hashed_content
from .lastbuild import nothing_changed
from .paths import SITE_INDEX
from .preview import PREVIEW_ALL, MemorySite, Preview, WrittenSite, affected
from .progress import MIN_TENANTS
from .site import BuildOptions, TenantView

if TYPE_CHECKING:
    from .explain import TracingRenderer

DEBOUNCE = 0.025  # seconds of quiet before a rebuild: editors save in bursts (write, rename, chmod) within milliseconds
# ... but when every changed file's last event says it is complete (closed after writing, or renamed into place),
# only this long: enough for the events of one save that arrive together, not a wait for a burst.
SETTLED = 0.002
KEEPALIVE = 15.0
MAX_PATH = 2048  # longest request target served; anything longer is refused
IDLE_TIMEOUT = 30.0  # longest wait for a client to take what is written, or to send anything
REQUEST_DEADLINE = 10.0  # a request line and headers must arrive in this time: a trickling client cannot hold a thread
MAX_CONNECTIONS = 64  # open pages each hold one event stream; beyond this a new connection gets 503 and is closed
BACKLOG = 128  # connections the kernel queues before accept: a burst of page loads is not slowed down
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
PREFIX = "/__policygen/"
# Seconds without edits before the site is written to disk (edits are shown from memory before): a build
# under way shares this process with the next edit's rendering, so it waits for the writer to pause.
WRITE_AFTER = 2.0
WRITE_AT_LATEST = 10.0  # ... or this long after the first edit not yet written, for a writer who never pauses
PROGRESS_EVERY = 1.0  # seconds between progress lines in the terminal
# Longest the site index waits for open pages to fetch an edit's pages first (rendered at once, it would
# share this process with their requests and slow them).
INDEX_AFTER = 0.2

Log = Callable[[str, bool], None]  # (message, is_error)


def _quiet(message: str, is_error: bool) -> None:
    pass


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    poll: bool = False
    out: Path | None = None
    debounce: float = DEBOUNCE
    write_after: float = WRITE_AFTER
    timings: bool = False  # log milliseconds along each edit's path (where the latency goes)
    # Writers preview their working text: released documents also get their draft/ page.
    build: BuildOptions = field(default_factory=lambda: BuildOptions(drafts=True))


# --- state shared by the rebuilder and the event streams -------------------------------------------------


@dataclass(frozen=True)
class LiveStatus:
    """The live builds at one moment: what the event streams tell open pages."""

    seq: int  # bumps on every outcome open pages hear of: new pages to show, or problems
    generation: int  # bumps on every good outcome
    problems: tuple[Problem, ...]
    progress: tuple[int, int] | None = None  # (tenants done, tenants in all) of a build open pages wait for


# Generations whose changed pages are remembered: a stream that fell further behind reloads its page.
HISTORY = 64


class LiveState:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._snap = LiveStatus(0, 0, ())
        self._changes: dict[int, frozenset[str] | None] = {}  # generation -> pages it changed (None: any)
        self.closed = False

    @property
    def snapshot(self) -> LiveStatus:
        with self._cond:
            return self._snap

    def built(self, pages: frozenset[str] | None = None) -> None:
        """A good outcome: *pages* (output paths) changed, or any page when None."""
        with self._cond:
            generation = self._snap.generation + 1
            self._changes[generation] = pages
            self._changes.pop(generation - HISTORY, None)
            self._snap = LiveStatus(self._snap.seq + 1, generation, ())
            self._cond.notify_all()

    def failed(self, problems: list[Problem]) -> None:
        with self._cond:
            self._snap = LiveStatus(self._snap.seq + 1, self._snap.generation, tuple(problems))
            self._cond.notify_all()

    def progress(self, done: int, total: int) -> None:
        with self._cond:
            self._snap = replace(self._snap, progress=(done, total))
            self._cond.notify_all()

    def changed_since(self, generation: int) -> frozenset[str] | None:
        """The pages changed by the good outcomes after *generation*, or None when any may have."""
        with self._cond:
            pages: set[str] = set()
            for g in range(generation + 1, self._snap.generation + 1):
                changed = self._changes.get(g)
                if changed is None:
                    return None
                pages |= changed
            return frozenset(pages)

    def wait(self, seq: int, timeout: float) -> LiveStatus:
        """The next snapshot after *seq*, or the same one after *timeout* seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self._snap.seq != seq or self.closed, timeout)
            return self._snap

    def wait_change(self, seen: LiveStatus, timeout: float) -> LiveStatus:
        """The next snapshot other than *seen* (progress included), or *seen* after *timeout* seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self._snap is not seen or self.closed, timeout)
            return self._snap

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Timings:
    """Milliseconds from an edit's first file event to each step of showing it (`serve --timings`), so
    where an edit's latency goes can be measured; silent unless asked for."""

    def __init__(self, log: Log | None) -> None:
        self._log = log
        self._start = time.perf_counter()  # the current edit's first file event
        self._steps: list[str] = []

    @property
    def on(self) -> bool:
        return self._log is not None

    def began(self, at: float) -> None:
        self._start, self._steps = at, []

    def ms(self) -> float:
        return (time.perf_counter() - self._start) * 1000

    def step(self, name: str) -> None:
        if self._log is not None:
            self._steps.append(f"{name} +{self.ms():.0f}")

    def flush(self, what: str) -> None:
        if self._log is not None and self._steps:
            self._log(f"timings: {what}: " + ", ".join(self._steps) + " ms", False)
            self._steps = []

    def say(self, text: str) -> None:
        if self._log is not None:
            self._log(f"timings: {text} +{self.ms():.0f} ms", False)


# --- rebuilding -----------------------------------------------------------------------------------------------


class Shown(Enum):
    """How much of an edit the preview showed."""

    ALL = "all"  # every page it changes is served from memory: the disk write follows quietly
    AWAITED = "awaited"  # some pages wait for the disk write: its progress is told
    FAILED = "failed"  # the edit does not build: its problems are shown, nothing is written


# Tenants rendered in memory when serve starts, one per shape of the site (Rebuilder._warm).
WARM_SHAPES = 8
# The tenants whose shapes are looked at (the first in the manifest's file list): at 10,000 tenants, reading the
# whole list took about a second before the first edit could be shown.
SHAPES_FROM = 1000


def site_shapes(paths: Iterable[str], owner: Callable[[str], str | None]) -> list[str]:
    """One tenant of each shape a written site has (the *paths* of its files, each tenant's told by *owner*), most
    common shape first: the set of its files' paths within its folder (which says its documents, languages and apps, the
    templates its pages use). A set is told by the sum of its paths' hashes, a number per tenant: a set of paths
    per tenant would hold the whole site's paths again (millions at 100,000 tenants). Two shapes that happen to
    sum the same only warm one of them."""
    sums: dict[str, int] = {}
    for path in paths:
        slug = owner(path)
        if slug is None:
            continue
        if slug not in sums and len(sums) == SHAPES_FROM:
            break  # enough to find the common shapes: a large site's file list is not read to its end
        sums[slug] = sums.get(slug, 0) + hash(path.removeprefix(slug + "/"))
    shapes: dict[int, list[str]] = {}
    for slug in sorted(sums):
        shapes.setdefault(sums[slug], []).append(slug)
    return [tenants[0] for tenants in sorted(shapes.values(), key=lambda tenants: (-len(tenants), tenants[0]))]


class Rebuilder:
    """Shows each edit, after a burst of changes has gone quiet, in two steps.

    First the tenants it touches are rendered in memory (all of them when few, else those open pages
    show) and those pages reload, served from memory. Then a build writes the whole site to the output
    folder in another thread (one at a time; edits made meanwhile are taken by the next), with progress
    told to open pages and the terminal when pages still wait for it.
    """

    def __init__(self, root: Path, options: ServeOptions, state: LiveState, log: Log, verbose: bool = False) -> None:
        self.root = root
        self.verbose = verbose  # name the tenants rebuilt, not only count them
        self.state = state
        self.log = log
        self.debounce = options.debounce
        self.timings = Timings(log if options.timings else None)
        self.write_after = options.write_after
        self.builder = Builder(root, options.out, options.build, self._progress)
        self.out = (options.out or root / "build").resolve()
        self.preview = Preview(root, options.build)
        self.memory = MemorySite()
        self.site = WrittenSite()  # the site on disk, once a build has written it
        self._listed: dict[str, TenantView] = {}  # the tenants' lines in the site index held in memory
        self.viewing: Callable[[], set[str]] = set  # the output paths open pages show (the server tells)
        self._written = False
        self._wake = threading.Event()
        self.warmed = threading.Event()  # the first edit will find the templates compiled (see _warm)
        self._stop = threading.Event()
        self._pending: dict[Path, bool] = {}  # changed path -> its last event said it is complete
        self._first = 0.0  # when the first event of the pending changes came
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="policygen-rebuild", daemon=True)
        self._write = threading.Event()
        self._unwritten: set[Path] = set()  # changes the next disk write takes
        self._awaited = False  # open pages wait for the next disk write: tell them its progress
        self._announcing = False  # ... and they wait for the one under way
        self._everything = False  # the theme or settings changed: every open page reloads after the next write
        self._told = 0.0  # when progress was last printed
        self._writer = threading.Thread(target=self._write_loop, name="policygen-write", daemon=True)
        # The previous output is removed after open pages are told to reload, not before: removing
        # thousands of files takes longer than the rebuild itself.
        self._trash: queue.Queue[Path | None] = queue.Queue()
        self.builder.discard = self._trash.put
        self._remover = threading.Thread(target=self._remove_trash, name="policygen-remove", daemon=True)
        self.last: BuildReport | None = None

    def first(self) -> None:
        """Serve's first build: none when the output folder already holds what a build would write (told from the
        inputs' stat and the output's stamp without reading a tenant, as `policygen build` tells it: lastbuild),
        else a build like any other (a failed one still serves its problems)."""
        options = self.builder.options
        started = time.perf_counter()
        same = (
            None if options.tenants else nothing_changed(self.root, self.builder.out_arg, options.today, options.drafts)
        )
        if same is None:
            self.build()
            return
        self.out = same.out
        ms = (time.perf_counter() - started) * 1000
        self.log(f"nothing changed since the last build ({ms:.0f} ms): tenants {same.built.tenants:,}", False)
        self._on_disk(same.out, self.memory.stamp, everything=True)

    def build(self, changed: set[Path] | None = None, everything: bool = True) -> BuildReport | None:
        """Build and write the site once; every failure is reported (terminal and open pages) and the
        last good site stays. Open pages whose page changed reload, or all of them with *everything*."""
        started = time.perf_counter()
        stamp = self.memory.stamp
        try:
            report = self.builder.build()
        except InputError as exc:
            for p in exc.problems:
                self.log(p.format(self.root), True)
            self._failed(exc.problems, f"{len(exc.problems)} problem(s)")
            return None
        except UsageError as exc:
            self._failed([Problem(str(exc))], f"error: {exc}")
            return None
        except OSError as exc:  # the disk, not the input: a full disk, a folder made read-only
            where = f": {exc.filename}" if exc.filename else ""
            self._failed([Problem(f"{exc.strerror or exc}{where}")], f"error: {exc.strerror or exc}{where}")
            return None
        except Exception as exc:
            text = f"internal error ({type(exc).__name__}: {exc}); this is a bug in policygen"
            self._failed([Problem(text)], f"error: {text}")
            return None
        self.out = report.out
        self.last = report
        ms = (time.perf_counter() - started) * 1000
        cause = f" after {_names(changed, self.root)}" if changed else ""
        self.log(
            f"built in {ms:.0f} ms{cause}: tenants {report.tally()} ({counted(report.rendered, 'policy page')} rendered)",
            False,
        )
        if self.verbose:
            for line in report.names():
                self.log(line, False)
        self._on_disk(report.out, stamp, everything)
        return report

    def _on_disk(self, out: Path, stamp: int, everything: bool) -> None:
        """A build has written the site: open pages that show a page it changed reload (all of them
        after the first build or with *everything*), and the files held in memory it wrote are let go."""
        self.site = WrittenSite.read(out)
        pages = self.memory.written(out, stamp)
        first, self._written = not self._written, True
        if first or everything:
            self.state.built()
        elif pages or self.state.snapshot.problems:
            self.state.built(pages)

    def show(self, changed: set[Path]) -> Shown:
        """Render in memory what open pages need of an edit, and reload them."""
        self.preview.forget(changed)
        if not self._written:
            return Shown.AWAITED  # no good build yet: the next one shows the edit
        site = self.site
        scope = affected(changed, self.root, site.documents)
        if scope is None:
            with self._lock:  # a style sheet or setting can change any file, not only the pages rendered here
                self._everything = True
        everyone = frozenset(site.documents) if scope is None else scope
        viewed = {slug for p in self.viewing() if (slug := site.owner(p)) is not None}
        chosen = everyone if len(everyone) <= PREVIEW_ALL else everyone & viewed
        chosen = frozenset(s for s in chosen if (self.root / "tenants" / s / "tenant.yaml").is_file())
        # A removed tenant, a tenant folder added or the settings changed: the whole site may change.
        whole = scope is not None and chosen == everyone
        if not chosen:
            return Shown.ALL if whole else Shown.AWAITED
        started = time.perf_counter()
        # On a big site the index (it lists every tenant: at 1,000 tenants it takes as long as a tenant's
        # pages) is rendered after the tenants' pages have reloaded; a request for it meanwhile waits for it.
        later = len(site.views) > PREVIEW_ALL
        if later:
            self.memory.expect(SITE_INDEX)
        try:
            results = self.preview.render(sorted(chosen), site)
            self.timings.step("rendered")
            listed = self._listed if self.memory.holds(SITE_INDEX) else site.views
            views = listed | {r.slug: r.index_view() for r in results}
            outputs = [o for r in results for o in r.outputs]
            if not later:
                outputs.append(self.preview.index(views))
            slugs = [r.slug for r in results]
            report = BuildReport(self.out, outputs, sum(1 for o in outputs if o.kind == "page"), slugs, slugs)
            self.last = report
            pages = self.memory.put(outputs)
            if later and views != listed:  # announced now, with the pages: the index follows in a moment
                pages |= {SITE_INDEX}
            if pages or self.state.snapshot.problems:
                self.state.built(pages)
            self.timings.step("announced")
            if later:
                self.memory.wait_fetched(pages & self.viewing() - {SITE_INDEX}, INDEX_AFTER)
                index = self.preview.index(views)
                self.memory.put([index])
                outputs.append(index)  # the list the report holds
                self.timings.step("index")
        except InputError as exc:
            for p in exc.problems:
                self.log(p.format(self.root), True)
            self._failed(exc.problems, f"{len(exc.problems)} problem(s)")
            return Shown.FAILED if whole else Shown.AWAITED  # the build finds the problems of the rest too
        except Exception as exc:  # a bug: said in one line, never a traceback; the next save retries
            text = f"internal error ({type(exc).__name__}: {exc}); this is a bug in policygen"
            self._failed([Problem(text)], f"error: {text}")
            return Shown.FAILED
        finally:
            self.memory.settle()
        self._listed = views
        ms = (time.perf_counter() - started) * 1000
        rest = len(everyone) - len(chosen)
        self.log(
            f"shown in {ms:.0f} ms after {_names(changed, self.root)}: {counted(len(slugs), 'tenant')} "
            f"rendered in memory{f', {rest:,} more to render' if rest else ''}; writing the site",
            False,
        )
        self.timings.flush(_names(changed, self.root))
        return Shown.ALL if whole else Shown.AWAITED

    def _failed(self, problems: list[Problem], summary: str) -> None:
        self.log(f"{summary}; still serving the last good build", True)
        self.state.failed(problems)

    def _progress(self, done: int, total: int) -> None:
        """Progress of the disk write, told while open pages wait for it (counts, never names)."""
        if not self._announcing or total < MIN_TENANTS:
            return
        self.state.progress(done, total)
        now = time.monotonic()
        if done == total or now - self._told >= PROGRESS_EVERY:
            self._told = now
            self.log(f"rendering: {done:,} of {counted(total, 'tenant')}", False)

    def changed(self, path: Path, complete: bool = False) -> None:
        """A file event on *path*; *complete*: the event says the file is whole (closed after writing,
        or renamed into place), so no more of this save is coming for it."""
        with self._lock:
            if not self._pending:
                self._first = time.perf_counter()
            self._pending.pop(path, None)  # re-inserted: the latest event decides
            self._pending[path] = complete
        self._wake.set()

    def _quiet_for(self) -> float:
        """How long to wait for more events: briefly when every changed file is complete, else a burst's quiet."""
        with self._lock:
            return SETTLED if self._pending and all(self._pending.values()) else self.debounce

    def start(self) -> None:
        self._thread.start()
        self._writer.start()
        self._remover.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._write.set()
        self._writer.join(timeout=60)  # edits shown but not yet written are written: the output is the site shown
        self._trash.put(None)
        if self._remover.is_alive():
            self._remover.join(timeout=30)  # what is left then goes at the next build's start

    def _remove_trash(self) -> None:
        while (folder := self._trash.get()) is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _warm(self) -> None:
        """Render in memory, and drop, one tenant of each shape the site has (its files' paths within its
        folder: its documents, languages and apps), up to WARM_SHAPES: the first edit of a tenant then
        finds the templates its pages use compiled, and its languages' words and dates loaded (a tenant
        in Hindi took 0.2 s more on its first edit than on its second). A failure here is the next edit's
        to report. The site index is rendered too: an edit shows it again after the tenant's pages."""
        for slug in site_shapes(self.site.paths(), self.site.owner)[:WARM_SHAPES]:
            try:
                self.preview.render([slug], self.site)
            except Exception:  # nothing is shown from this render: an edit reports its own problems
                continue
        with contextlib.suppress(Exception):  # and the site index, which every edit renders again
            self.preview.index(self.site.views)

    def _run(self) -> None:
        self._warm()
        self.warmed.set()
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            # Coalesce: wait until no event has arrived for `debounce` seconds (or SETTLED, see _quiet_for).
            while True:
                self._wake.clear()
                if not self._wake.wait(self._quiet_for()) or self._stop.is_set():
                    break
            with self._lock:
                changed, self._pending = set(self._pending), {}
                self.timings.began(self._first)
            if self._stop.is_set():
                return
            self.timings.step("quiet")
            shown = self.show(changed)
            if shown is not Shown.FAILED:
                with self._lock:
                    self._unwritten |= changed
                    self._awaited = self._awaited or shown is Shown.AWAITED
                self._write.set()

    def _write_loop(self) -> None:
        while True:
            self._write.wait()
            self._write.clear()
            # Edits already shown from memory are written once the writer pauses: a build under way would
            # slow the showing of the next edit. Pages that wait for the write get it at once.
            since = time.monotonic()
            while not self._awaited and not self._stop.is_set() and time.monotonic() - since < WRITE_AT_LATEST:
                if not self._write.wait(self.write_after):
                    break
                self._write.clear()
            with self._lock:
                if self._stop.is_set() and not self._unwritten:
                    return
            self._write_once()
            if self._stop.is_set():
                return  # serve is stopping: what was shown is written, and the edit loop has ended

    def _write_once(self) -> None:
        """Write the edits shown since the last write (also when serve stops: the output folder then
        holds what was shown, as `policygen build` would write it)."""
        with self._lock:
            changed, self._unwritten = self._unwritten, set()
            self._announcing, self._awaited = self._awaited, False
            everything, self._everything = self._everything, False
        self.build(changed, everything)
        self._announcing = False


def _names(paths: set[Path] | None, root: Path) -> str:
    # Editors save through temporary files; name only what is still there.
    shown = sorted(p.relative_to(root).as_posix() for p in paths or () if p.is_relative_to(root) and p.exists())
    return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")


# --- watching -------------------------------------------------------------------------------------------------


def is_source(path: Path, root: Path) -> bool:
    """Whether a changed path is project input (not output, editor scratch files or VCS data)."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    if not rel.parts:
        return False
    if len(rel.parts) == 1:
        return rel.name in PROJECT_FILES or rel.name in INPUT_FOLDERS
    if rel.parts[0] not in INPUT_FOLDERS:
        return False
    # Hidden files too: they are not input (a theme's .gitignore, an editor's state folder).
    return not (is_editor_file(rel.name) or rel.name.startswith("."))


class _Events(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return
        # Complete: closed after writing, or renamed into place. A file renamed away or deleted is not: an
        # editor may be about to write it anew.
        whole = not event.is_directory
        self._seen(event.src_path, event, complete=whole and event.event_type == "closed")
        dest = getattr(event, "dest_path", "")
        if dest:
            self._seen(dest, event, complete=whole)

    def _seen(self, raw: str | bytes, event: FileSystemEvent, complete: bool) -> None:
        if raw:
            path = Path(raw if isinstance(raw, str) else raw.decode())
            created_dir = event.is_directory and event.event_type in ("created", "moved")
            self.watcher.seen(path, created_dir, complete)


class Watcher:
    def __init__(self, root: Path, poll: bool, on_change: Callable[[Path, bool], None]) -> None:
        self.root = root
        self.on_change = on_change
        self.observer: BaseObserver = PollingObserver(timeout=0.25) if poll else Observer()
        self.handler = _Events(self)
        self._watched: set[str] = set()

    def start(self) -> None:
        for name in INPUT_FOLDERS:
            self._watch(name)
        # The root itself, not recursively: policygen.yaml, and watched folders created later.
        self.observer.schedule(self.handler, str(self.root), recursive=False)
        self.observer.start()

    def _watch(self, name: str) -> None:
        folder = self.root / name
        if name not in self._watched and folder.is_dir():
            self.observer.schedule(self.handler, str(folder), recursive=True)
            self._watched.add(name)

    def seen(self, path: Path, created_dir: bool, complete: bool = False) -> None:
        if not is_source(path, self.root):
            return
        if created_dir and path.parent == self.root:
            self._watch(path.name)
        self.on_change(path, complete)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)


# --- serving --------------------------------------------------------------------------------------------------

LIVE_JS = r"""(() => {
  "use strict";
  const me = document.currentScript;
  const loaded = Number(me ? me.dataset.generation : 0);
  let box = null;
  function hide() { if (box) { box.remove(); box = null; } }
  function show(problems) {
    hide();
    box = document.createElement("div");
    box.setAttribute("role", "alert");
    box.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(20,20,20,.92);" +
      "color:#fff;font:14px/1.5 ui-monospace,monospace;padding:2rem;white-space:pre-wrap";
    const head = document.createElement("strong");
    head.textContent = "policygen: the last edit does not build; this page shows the last good build.\n\n";
    box.appendChild(head);
    for (const p of problems) {
      const where = document.createElement("div");
      where.style.color = "#ffb4a8";
      where.textContent = (p.file || "") + (p.line ? ":" + p.line : "");
      const what = document.createElement("div");
      what.style.marginBottom = "1rem";
      what.textContent = p.text;
      box.append(where, what);
    }
    document.body.appendChild(box);
  }
  // Sources: on a page that shows working text, a toggle outlines every block and shows the clause file and
  // line and the facts it comes from (policygen explain), on hover or tap. A block with no source is outlined red.
  const data = document.getElementById("policygen-sources");
  if (data) sources(JSON.parse(data.textContent));
  function sources(doc) {
    let on = false, style = null;
    const button = document.createElement("button");
    button.type = "button";
    button.id = "policygen-sources-toggle";
    button.textContent = "Show sources";
    button.setAttribute("aria-pressed", "false");
    button.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483646;font:13px/1.2 system-ui,sans-serif;" +
      "padding:.5rem .75rem;border:1px solid #444;border-radius:4px;background:#fff;color:#111;cursor:pointer";
    const panel = document.createElement("div");
    panel.id = "policygen-source";
    panel.setAttribute("role", "status");
    panel.style.cssText = "position:fixed;left:1rem;bottom:1rem;right:10rem;z-index:2147483646;display:none;" +
      "font:13px/1.4 ui-monospace,monospace;padding:.5rem .75rem;background:#111;color:#fff;border-radius:4px;white-space:pre-wrap";
    document.body.append(button, panel);
    const norm = (s) => s.replace(/\s+/g, " ").trim();
    function ownText(el) {
      if (el.tagName === "TR") return Array.from(el.cells).map((c) => norm(c.textContent)).join(" ");
      const copy = el.cloneNode(true);
      copy.querySelectorAll("ul,ol").forEach((n) => n.remove());
      return norm(copy.textContent);
    }
    function describe(b) {
      if (!b) return "policygen: no source found for this block";
      const facts = b.facts.map((f) => f.path + (f.line ? " (" + doc.facts_file + ":" + f.line + ")" : ""));
      return b.file + ":" + (b.line || "?") + (facts.length ? "\nfacts: " + facts.join(", ") : "");
    }
    function show(e) {
      const el = e.target.closest("[data-policygen-source]");
      if (!on || !el) return;
      panel.textContent = el.dataset.policygenSource;
      panel.style.display = "block";
    }
    function mark() {
      style = document.createElement("style");
      style.textContent = "[data-policygen-source]{outline:1px dashed #1f6feb;outline-offset:2px}" +
        "[data-policygen-unsourced]{outline:2px dashed #d1242f}";
      document.head.appendChild(style);
      const root = document.querySelector("article.policy") || document.body;
      const blocks = doc.blocks;
      let next = 0;
      for (const el of root.querySelectorAll("h1,h2,h3,h4,h5,h6,p,li,tr,pre,dd")) {
        if ((el.tagName === "P" && el.closest("li")) || el.closest(".banner") || el.id === "toc-title") continue;
        const text = ownText(el);
        let found = -1;
        for (let j = next; j < blocks.length && found < 0; j++) {
          const b = blocks[j];
          if (b.text === text || (b.kind === "date" && b.text.endsWith(" " + text))) found = j;
        }
        if (found >= 0) {
          el.dataset.policygenSource = describe(blocks[found]);
          el.title = el.dataset.policygenSource;
          next = found + 1;
        } else if (el.tagName !== "DD") {
          el.dataset.policygenSource = describe(null);
          el.dataset.policygenUnsourced = "";
        }
      }
    }
    function unmark() {
      if (style) style.remove();
      for (const el of document.querySelectorAll("[data-policygen-source]")) {
        if (el.title === el.dataset.policygenSource) el.removeAttribute("title");
        delete el.dataset.policygenSource;
        delete el.dataset.policygenUnsourced;
      }
      panel.style.display = "none";
    }
    button.addEventListener("click", () => {
      on = !on;
      button.setAttribute("aria-pressed", String(on));
      button.textContent = on ? "Hide sources" : "Show sources";
      if (on) mark(); else unmark();
    });
    document.addEventListener("mouseover", show);
    document.addEventListener("click", show);
  }
  // Progress of a build this page waits for (an edit every tenant feels): a small bar, counts only.
  let bar = null;
  function progress(done, total) {
    if (done >= total) { if (bar) { bar.remove(); bar = null; } return; }
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "policygen-progress";
      bar.setAttribute("role", "status");
      bar.style.cssText = "position:fixed;left:1rem;top:1rem;z-index:2147483647;font:13px/1.4 system-ui,sans-serif;" +
        "padding:.4rem .75rem;background:#111;color:#fff;border-radius:4px;min-width:14rem";
      const text = document.createElement("div");
      const track = document.createElement("div");
      track.style.cssText = "height:4px;background:#555;margin-top:.3rem";
      const fill = document.createElement("div");
      fill.style.cssText = "height:4px;background:#6cf;width:0";
      track.appendChild(fill);
      bar.append(text, track);
      document.body.appendChild(bar);
    }
    bar.firstChild.textContent = "policygen: rendering " + done.toLocaleString() + " of " + total.toLocaleString() + " tenants";
    bar.lastChild.firstChild.style.width = (100 * done / total).toFixed(1) + "%";
  }
  const events = new EventSource("/__policygen/events?page=" + encodeURIComponent(location.pathname));
  events.addEventListener("hello", (e) => { if (JSON.parse(e.data).generation !== loaded) location.reload(); });
  events.addEventListener("reload", () => location.reload());
  events.addEventListener("problem", (e) => { progress(1, 1); show(JSON.parse(e.data).problems); });
  events.addEventListener("progress", (e) => { const p = JSON.parse(e.data); progress(p.done, p.total); });
})();
"""


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(
        self, address: tuple[str, int], root: Path, rebuilder: Rebuilder, state: LiveState, verbose: bool = False
    ) -> None:
        super().__init__(address, _Handler)
        self.root = root
        self.rebuilder = rebuilder
        self.state = state
        self.verbose = verbose
        self._sources: dict[tuple[int, Path], str | None] = {}
        self._sources_lock = threading.Lock()
        # Kept between pages and builds while the settings stay (they decide how clauses render): a fresh
        # one compiles every clause again, which made each reloaded working-text page take a second.
        self._tracer: tuple[bytes, TracingRenderer] | None = None
        self.hosts = allowed_hosts(address[0], int(self.server_address[1]))
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._viewed: dict[str, int] = {}  # output path -> event streams of pages showing it
        self._viewed_lock = threading.Lock()

    def view(self, page: str | None, by: int) -> None:
        """Count an open page (by=1) or one closed (by=-1): previews render what open pages show first."""
        if page is None:
            return
        with self._viewed_lock:
            count = self._viewed.get(page, 0) + by
            if count > 0:
                self._viewed[page] = count
            else:
                self._viewed.pop(page, None)

    def viewed(self) -> set[str]:
        with self._viewed_lock:
            return set(self._viewed)

    @property
    def out(self) -> Path:
        return self.rebuilder.out

    def sources(self, page: Path) -> str | None:
        """The sources the page's toggle shows (see inject), worked out once per good build."""
        from .explain import TracingRenderer, page_sources

        key = (self.state.snapshot.generation, page)
        with self._sources_lock:
            if key not in self._sources:
                try:
                    settings = hashed_content(self.root, self.root / CONFIG_FILE)
                    if self._tracer is None or self._tracer[0] != settings:
                        self._tracer = (settings, TracingRenderer(self.root / "content"))
                    found = page_sources(self.root, self.out, page, self._tracer[1], self.rebuilder.preview.project)
                except (InputError, UsageError):
                    found = None  # the source does not build now: the overlay says why
                self._sources = {k: v for k, v in self._sources.items() if k[0] == key[0]}
                self._sources[key] = found
            return self._sources[key]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{_bracketed(str(host))}:{port}/"

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        if not self._slots.acquire(blocking=False):
            _turn_away(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread was started to release it
            raise

    def process_request_thread(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        # Never a traceback in the terminal: a client that resets, stalls or vanishes is normal on a
        # network; anything else is a bug in policygen, said in one line.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            if self.verbose:
                self.rebuilder.log(f"{_client(client_address)}: connection ended: {error}", False)
            return
        self.rebuilder.log(
            f"error: internal error answering {_client(client_address)} "
            f"({type(error).__name__}: {error}); this is a bug in policygen",
            True,
        )


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host headers served: the loopback names, and the listening address when it is another.

    Any other name is refused, so a web page whose domain an attacker points at 127.0.0.1 (DNS
    rebinding) cannot read the preview: its requests carry the attacker's domain as Host."""
    names = {*LOOPBACK_NAMES, _bracketed(host).lower()}
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers leave out the default port
        hosts |= names
    return frozenset(hosts)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _client(address: object) -> str:
    return str(address[0]) if isinstance(address, tuple) and address else "a client"


def _turn_away(request: socket.socket) -> None:
    try:
        request.settimeout(1.0)
        request.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
    except OSError:
        pass


class _DeadlineReader(io.RawIOBase):
    """The socket as the handler reads it: while a deadline is set, every read waits only until then,
    so a client that trickles its request a byte at a time is dropped when the deadline passes."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        self.sock = sock
        self.idle = idle
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request did not arrive in time")
            self.sock.settimeout(min(left, self.idle))
        return self.sock.recv_into(buffer)


def resolve(out: Path, target: str) -> tuple[Path | None, int]:
    """The file under *out* a request target names, or None with the status to answer."""
    path = unquote(urlsplit(target).path)
    if "\0" in path or "\\" in path or not path.startswith("/"):
        return None, HTTPStatus.BAD_REQUEST
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, HTTPStatus.FORBIDDEN
    base = out.resolve()
    try:  # a name the file system refuses (a segment over 255 bytes) is simply not there
        real = base.joinpath(*parts).resolve()
        if not real.is_relative_to(base):
            return None, HTTPStatus.FORBIDDEN  # a symlink leading out of the site
        if real.is_dir():
            if not path.endswith("/"):
                return real, HTTPStatus.MOVED_PERMANENTLY
            real = real / "index.html"
        if not real.is_file():
            return None, HTTPStatus.NOT_FOUND
    except OSError:
        return None, HTTPStatus.NOT_FOUND
    return real, HTTPStatus.OK


def page_file(target: str) -> str | None:
    """The output path (as the manifest names it) a URL path names, or None for one that leaves the site
    or is malformed; a folder names its index.html."""
    path = unquote(target)
    if "\0" in path or "\\" in path or not path.startswith("/") or len(path) > MAX_PATH:
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    if path.endswith("/") or not parts:
        parts.append("index.html")
    return "/".join(parts)


def inject(html: bytes, generation: int, sources: str | None = None) -> bytes:
    """Add the live-reload script, and the page's sources (policygen explain, as script-safe JSON) if it has them."""
    tag = f'<script src="{PREFIX}live.js" data-generation="{generation}"></script>'.encode()
    if sources is not None:
        tag = f'<script type="application/json" id="policygen-sources">{sources}</script>'.encode() + tag
    at = html.rfind(b"</body>")
    return html[:at] + tag + html[at:] if at >= 0 else html + tag


class _Handler(BaseHTTPRequestHandler):
    server: LiveServer
    server_version = "policygen-serve"
    sys_version = ""
    timeout = (
        IDLE_TIMEOUT  # socket timeout for writes (a whole sendall) and reads; event streams write every KEEPALIVE s
    )
    request_deadline = REQUEST_DEADLINE

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.request_deadline
        super().handle_one_request()

    def parse_request(self) -> bool:
        ok = super().parse_request()  # reads the headers, within the deadline
        self._reader.deadline = None
        self.connection.settimeout(self.timeout)
        if ok and not self._host_allowed():
            # Not one of our names: no page, draft, script or event stream goes to it.
            self.send_error(
                HTTPStatus.MISDIRECTED_REQUEST,
                "unknown Host",
                "this preview answers only to " + ", ".join(sorted(self.server.hosts)),
            )
            return False
        return ok

    def _host_allowed(self) -> bool:
        hosts = self.headers.get_all("Host") or []
        return len(hosts) == 1 and hosts[0].strip().lower() in self.server.hosts

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            self.server.rebuilder.log(f"{self.address_string()} {format % args}", False)

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _refuse(self) -> None:
        # The site is read-only: no uploads, no bodies.
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only site")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _respond(self, head: bool) -> None:
        if len(self.path) > MAX_PATH:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:  # a hostile or broken client: answer it, never a traceback in the terminal
            self.send_error(HTTPStatus.BAD_REQUEST, "Content-Length is not a number")
            return
        if length > 0 or self.headers.get("Transfer-Encoding"):
            self.send_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "requests carry no body here")
            return
        path = urlsplit(self.path).path
        if path == PREFIX + "events" and not head:
            self._events()
            return
        if path == PREFIX + "live.js":
            self._send(LIVE_JS.encode(), "text/javascript; charset=utf-8", head)
            return
        held = page_file(path)
        data = None if held is None else self.server.rebuilder.memory.get(held)
        if held is not None and data is not None:  # rendered by a preview, ahead of the disk write
            self._file(self.server.out / held, data, head)
            self.server.rebuilder.memory.sent(held, data)
            if held.endswith(".html"):
                self.server.rebuilder.timings.say(f"{path} served from memory")
            return
        file, status = resolve(self.server.out, self.path)
        if status == HTTPStatus.MOVED_PERMANENTLY:
            self.send_response(status)
            self.send_header("Location", path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if file is None:
            if status == HTTPStatus.NOT_FOUND and self.server.state.snapshot.generation == 0:
                # Nothing built yet (the first build failed): a page that shows why and reloads when fixed.
                page = inject(b"<!doctype html><title>policygen</title><body><p>Nothing built yet.</p></body>", 0)
                self._send(page, "text/html; charset=utf-8", head, HTTPStatus.SERVICE_UNAVAILABLE)
                return
            self.send_error(status)
            return
        try:
            data = file.read_bytes()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self._file(file, data, head)
        if held is not None:
            self.server.rebuilder.memory.sent(held, data)

    def _file(self, file: Path, data: bytes, head: bool) -> None:
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind == "text/html":
            data = inject(data, self.server.state.snapshot.generation, self.server.sources(file))
            kind += "; charset=utf-8"
        self._send(data, kind, head)

    def _send(self, data: bytes, kind: str, head: bool, status: int = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _events(self) -> None:
        # The page tells which page it shows (?page=/its/path/): it reloads only when that page changed.
        page = page_file(parse_qs(urlsplit(self.path).query).get("page", [""])[0])
        self.server.view(page, 1)
        if page is not None:
            self.server.rebuilder.memory.showing(page, self.server.out)
        try:
            self._stream(page)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return
        finally:
            self.server.view(page, -1)

    def _stream(self, page: str | None) -> None:
        state = self.server.state
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        snap = state.snapshot
        shown = snap.generation  # the generation of what the page shows
        self._event("hello", {"generation": snap.generation})
        troubled = bool(snap.problems)  # the page shows the problem overlay
        if troubled:
            self._event("problem", self._problems(snap))
        while not state.closed:
            new = state.wait_change(snap, KEEPALIVE)
            if state.closed:
                return
            if new is snap:
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                continue
            before, snap = snap, new
            if snap.progress is not None and snap.progress != before.progress:
                self._event("progress", {"done": snap.progress[0], "total": snap.progress[1]})
            if snap.seq == before.seq:
                continue
            if snap.problems:
                self._event("problem", self._problems(snap))
                troubled = True
                continue
            changed = state.changed_since(shown)
            if troubled or changed is None or (page in changed if page is not None else bool(changed)):
                self._event("reload", {"generation": snap.generation})
                self.server.rebuilder.timings.say(f"reload sent to {page or 'a page'}")
                shown, troubled = snap.generation, False

    def _problems(self, snap: LiveStatus) -> dict[str, object]:
        root = self.server.root
        return {"problems": [p.to_json(root) | {"text": p.format(root)} for p in snap.problems]}

    def _event(self, name: str, data: dict[str, object]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data, sort_keys=True)}\n\n".encode())
        self.wfile.flush()


# --- the whole thing ------------------------------------------------------------------------------------------


class Session:
    """A running serve: build, watch, serve. start() returns at once; stop() ends it all."""

    def __init__(self, root: Path, options: ServeOptions, log: Log = _quiet, verbose: bool = False) -> None:
        self.root = root.resolve()
        self.options = options
        self.state = LiveState()
        self.rebuilder = Rebuilder(self.root, options, self.state, log, verbose)
        self.watcher = Watcher(self.root, options.poll, self.rebuilder.changed)
        try:
            self.server = LiveServer((options.host, options.port), self.root, self.rebuilder, self.state, verbose)
        except OSError as exc:
            raise UsageError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
        self.rebuilder.viewing = self.server.viewed
        self._thread = threading.Thread(target=self.server.serve_forever, name="policygen-http", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self.rebuilder.first()
        self.watcher.start()
        self.rebuilder.start()
        self._thread.start()

    def stop(self) -> None:
        self.state.close()
        self.watcher.stop()
        self.rebuilder.stop()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def serve(
    root: Path, options: ServeOptions, log: Log, verbose: bool = False, ready: Callable[[Session], None] | None = None
) -> None:
    """Serve until interrupted (Ctrl-C)."""
    session = Session(root, options, log, verbose)
    session.start()
    if ready is not None:
        ready(session)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        session.stop()

"""The command line: parses options and calls the core. No policy logic lives here."""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import InputError, UsageError, escape, printable, undecodable
from .jurisdictions import JURISDICTIONS

if TYPE_CHECKING:
    from .shards import Shard

F = TypeVar("F", bound=Callable[..., Any])

# The status of a command whose output's reader went away: a Unix tool's, killed by SIGPIPE (128 + 13).
READER_GONE = 141


class Context:
    def __init__(self, project: Path | None, debug: bool, quiet: bool, verbose: bool) -> None:
        self.project = project
        self.debug = debug
        self.quiet = quiet
        self.verbose = verbose

    def root(self) -> Path:
        from .inputs import find_root

        return find_root(self.project or Path.cwd())

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)


ECHO_BATCH = 1 << 16  # characters written to standard output at a time by echo_all


def echo_all(parts: Iterable[str]) -> None:
    """Write *parts* to standard output a batch at a time: a report of a hundred thousand tenants is never one
    string, and a line is not a write of its own."""
    batch: list[str] = []
    size = 0
    for part in parts:
        batch.append(part)
        size += len(part)
        if size >= ECHO_BATCH:
            click.echo("".join(batch), nl=False)
            batch, size = [], 0
    if batch:
        click.echo("".join(batch), nl=False)


def run(ctx: Context, action: Callable[[], int | None]) -> None:
    """Turn the core's exceptions into messages and exit codes: 1 bad input, 2 bad usage."""
    try:
        code = action() or 0
    except InputError as exc:
        root = None
        try:
            root = ctx.root()
        except UsageError:
            pass
        problems = exc.problems
        for p in problems:
            click.echo(p.format(root), err=True)
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found; nothing was written.", err=True)
        if ctx.debug:
            raise
        sys.exit(1)
    except UsageError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)  # it may quote an argument: escape what it holds
        if ctx.debug:
            raise
        sys.exit(2)
    except click.ClickException:
        raise
    except BrokenPipeError:  # the reader of the output went away (`policygen build | head -1`): nothing to say
        sys.exit(READER_GONE)
    except OSError as exc:  # the disk, not the input: a read-only folder, a full disk
        if ctx.debug:
            raise
        where = f": {escape(str(exc.filename))}" if exc.filename else ""  # a path is never shortened
        click.echo(f"error: {printable(str(exc.strerror or exc))}{where}", err=True)
        sys.exit(1)
    except Exception as exc:
        if ctx.debug:
            raise
        click.echo(
            f"error: internal error ({type(exc).__name__}: {exc}); this is a bug in policygen. "
            "Run again with --debug for the traceback.",
            err=True,
        )
        sys.exit(3)
    sys.exit(code)


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    from .dates import parse_day

    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_tier(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from .rules import check_level

    if value is not None:
        try:
            check_level(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


# diff and upgrade-diff gate merges the same way.
FAIL_ON = click.option(
    "--fail-on",
    metavar="TIER",
    callback=parse_tier,
    help="Exit 1 when the overall tier reaches TIER: technical, editorial, needs-review, minor, material or consent.",
)


def _output_level(click_ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--quiet / --verbose after a command name: the same switch as before it, on the one Context."""
    obj = click_ctx.find_object(Context)
    if not value or obj is None or param.name is None:
        return
    setattr(obj, param.name, True)
    if obj.quiet and obj.verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one")


_LEVEL_OPTIONS = (
    click.Option(
        ["--quiet", "-q"],
        is_flag=True,
        expose_value=False,
        callback=_output_level,
        help="Print only errors (also accepted before the command).",
    ),
    click.Option(
        ["--verbose", "-v"],
        is_flag=True,
        expose_value=False,
        callback=_output_level,
        help="Print more detail (also accepted before the command).",
    ),
)


class PolicyGroup(click.Group):
    """Every command accepts --quiet and --verbose after its name as well as before it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        bad = undecodable(args)
        if bad is not None:  # one line, exit 2: it would otherwise fail wherever the text is first written
            click.echo(f"error: {bad}", err=True)
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        taken = {opt for p in cmd.params for opt in getattr(p, "opts", [])}
        for option in _LEVEL_OPTIONS:
            if not taken & set(option.opts):
                cmd.params.append(option)
        super().add_command(cmd, name)


def format_option(see: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The --format option of every command that reports: text for people, json for tools."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help=f"text for people, json for tools{' ' + see if see else ''}.",
    )


@click.group(cls=PolicyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policygen")
@click.option(
    "--project",
    "-C",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The project folder (default: the nearest folder with policygen.yaml, or content/ and tenants/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@click.option("--verbose", "-v", is_flag=True, help="Print more: every file of the site built, tenants by name.")
@click.pass_context
def cli(click_ctx: click.Context, project: Path | None, debug: bool, quiet: bool, verbose: bool) -> None:
    """Generate privacy policy sites for many organisations from facts and clauses."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one")
    click_ctx.obj = Context(project, debug, quiet, verbose)


def parse_shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    from .shards import Shard

    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: build/ in the project).",
)
@click.option("--tenant", "-t", "tenants", multiple=True, metavar="SLUG", help="Build only this tenant (repeatable).")
@click.option("--today", callback=parse_date, metavar="YYYY-MM-DD", help="The build date, for reproducible builds.")
@click.option("--drafts", is_flag=True, help="Also render unreleased edits as marked drafts.")
@click.option(
    "--shard",
    callback=parse_shard,
    metavar="K/N",
    help="Build only part K of N of the tenants, for `policygen merge` (not a publishable site).",
)
@click.pass_obj
def build(
    ctx: Context, out: Path | None, tenants: tuple[str, ...], today: dt.date | None, drafts: bool, shard: Shard | None
) -> None:
    """Build the static site (or one shard of it)."""
    from .lastbuild import counted, nothing_changed

    def action() -> None:
        whole = shard is None and not tenants and not ctx.verbose
        same = nothing_changed(ctx.root(), out, today, drafts) if whole else None  # before importing the engine
        if same is not None:
            for line in (same.summary(), f"Open {same.out / 'index.html'}"):
                ctx.say(line)
            return
        from .prebuild import Build, beside

        # What the build looks at first is looked at in a second process while this one imports the engine.
        with beside(Build.of(ctx.root(), out, today, drafts, whole=shard is None and not tenants)):
            with long_lived():
                from .engine import build as do_build
                from .progress import progress_bar
                from .site import BuildOptions

            options = BuildOptions(list(tenants) or None, today, drafts)
            with progress_bar("Building", ctx.quiet) as progress:
                if shard is None:
                    report = do_build(ctx.root(), out, options, progress)
                    lines = [report.summary(), f"Open {report.out / 'index.html'}"]
                else:
                    from .shards import build_shard  # only here: a build of the whole site does without it

                    part = build_shard(ctx.root(), out, options, shard, progress)
                    report, lines = part.build, part.summary()
        if ctx.verbose:
            for item in report.outputs:
                click.echo(f"  {item.kind:8} {item.path}")
            for line in report.names():
                click.echo(line)
        if report.dropped:  # named with --verbose (report.names)
            ctx.say(f"Removed from the site (their folders are gone): {counted(len(report.dropped), 'tenant')}")
        for line in lines:
            ctx.say(line)

    run(ctx, action)


@cli.command()
@click.argument(
    "folders", nargs=-1, required=True, metavar="DIR...", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: build/ in the project).",
)
@click.pass_obj
def merge(ctx: Context, folders: tuple[Path, ...], out: Path | None) -> None:
    """Join the outputs of `policygen build --shard K/N`, one folder per shard, into the site."""
    from .shards import merge as do_merge

    def action() -> None:
        report = do_merge(ctx.root(), list(folders), out)
        if ctx.verbose:
            for item in report.outputs:
                click.echo(f"  {item.kind:8} {item.path}")
        ctx.say(report.summary())
        ctx.say(f"Open {report.out / 'index.html'}")

    run(ctx, action)


@cli.command()
@click.option(
    "--translation", is_flag=True, help="The schema of tenant.<lang>.yaml, the translations of a tenant's facts."
)
@click.pass_obj
def schema(ctx: Context, translation: bool) -> None:
    """Print the JSON Schema of tenant.yaml (for editor validation)."""
    from .fact_translations import overlay_schema
    from .facts import json_schema

    run(
        ctx,
        lambda: click.echo(json.dumps(overlay_schema() if translation else json_schema(), indent=2, sort_keys=True)),
    )


@cli.command()
@click.argument("slug")
@click.option("--document", "-d", metavar="DOC", help="Release only this document (default: every changed one).")
@click.option(
    "--effective",
    callback=parse_date,
    required=True,
    metavar="YYYY-MM-DD",
    help="The date the new version takes effect.",
)
@click.option(
    "--released",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="The release date recorded in the snapshot (default: today).",
)
@click.option(
    "--editorial",
    metavar="REASON",
    help="Mark wording edits (clauses, or a few words of free-text facts) as editorial, and record why.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Release a material change that takes effect before its notice period ends (needs --reason).",
)
@click.option("--reason", metavar="TEXT", help="Why --force is needed; recorded in the version.")
@click.pass_obj
def release(
    ctx: Context,
    slug: str,
    document: str | None,
    effective: dt.date,
    released: dt.date | None,
    editorial: str | None,
    force: bool,
    reason: str | None,
) -> None:
    """Freeze a tenant's document(s) as they read now into a new released version."""
    from .release import ReleaseNote, release_report, summariser, translator
    from .versions import release as do_release

    def action() -> None:
        if force != bool(reason and reason.strip()):
            raise UsageError("--force needs --reason TEXT, and --reason goes with --force")
        if editorial is not None and not editorial.strip():
            raise UsageError("--editorial needs a reason, e.g. --editorial 'typo fixes'")
        root = ctx.root()
        note = ReleaseNote(editorial=editorial, force=reason if force else None)
        for snap in do_release(
            root,
            slug,
            effective,
            document=document,
            released=released,
            summarise=summariser(root, slug, note),
            translate=translator(root, slug),
        ):
            ctx.say(release_report(root, slug, snap))

    run(ctx, action)


@cli.group(invoke_without_command=True)
@format_option()
@click.pass_context
def translations(click_ctx: click.Context, fmt: str) -> None:
    """List each clause's translations per language: current, stale (with the source's change) or missing."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx: Context = click_ctx.obj
    from .translations import format_json, format_text, project_report

    def action() -> None:
        root = ctx.root()
        found = project_report(root)
        click.echo(format_json(found, root) if fmt == "json" else format_text(found, root), nl=False)

    run(ctx, action)


@translations.command("facts")
@click.argument("slug")
@click.argument("language", metavar="LANG")
@click.pass_obj
def translations_facts(ctx: Context, slug: str, language: str) -> None:
    """List SLUG's free-text facts with the hash a translation into LANG records, and its status."""
    from .fact_translations import format_facts
    from .project import load_project

    def action() -> None:
        tenant = load_project(ctx.root(), [slug]).tenants[slug]
        click.echo(format_facts(tenant.facts, tenant.folder, language), nl=False)

    run(ctx, action)


@translations.command("mark")
@click.argument("language", metavar="LANG")
@click.argument("clause", metavar="CLAUSE")
@click.pass_obj
def translations_mark(ctx: Context, language: str, clause: str) -> None:
    """Mark the LANG translation of CLAUSE (DOCUMENT/CLAUSE) current: reviewed against the source as it is now."""
    from .translations import mark, project_sources

    def action() -> None:
        done = mark(project_sources(ctx.root()).units, language, clause)
        ctx.say(f"{done.unit.key} ({language}) marks source {done.source_hash}: current")

    run(ctx, action)


@cli.command()
@click.argument("slugs", nargs=-1, metavar="[SLUG ...]")
@format_option()
@click.option(
    "--today",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Hold tenants to the law in force on this day (default: today, UTC); duties that start later are warnings.",
)
@click.pass_obj
def check(ctx: Context, slugs: tuple[str, ...], fmt: str, today: dt.date | None) -> None:
    """Report what each tenant's policies lack for the laws it declares; exit 1 on any error."""
    from .check import check as do_check
    from .checkreport import json_parts, text_lines
    from .progress import progress_bar

    def action() -> int:
        with progress_bar("Checking", ctx.quiet) as progress:  # on a terminal, on stderr: never in the report
            report = do_check(ctx.root(), list(slugs) or None, today, progress)
        if fmt == "json":
            echo_all(json_parts(report))
        elif not ctx.quiet or report.exit_code:
            echo_all(text_lines(report, hardest=None if ctx.verbose else 3, errors_only=ctx.quiet))
        return report.exit_code

    run(ctx, action)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def init(ctx: Context, directory: Path) -> None:
    """Create a new project in DIRECTORY: settings, a sample tenant, CI and pre-commit config (the clause library
    and the theme come with policygen)."""
    from .scaffold import init as do_init

    def action() -> None:
        report = do_init(directory)
        if ctx.verbose:
            for name in report.files:
                click.echo(f"  {name}")
        ctx.say(f"Created a policygen project in {report.root} ({len(report.files)} files).")
        ctx.say(f"Next: cd {directory} && policygen check && policygen build")

    run(ctx, action)


@cli.command("new-tenant")
@click.argument("slug")
@click.option("--legal-name", help="The organisation's legal name.")
@click.option("--display-name", help="The name people know it by.")
@click.option("--email", help="Email address for privacy questions.")
@click.option(
    "--jurisdiction",
    "jurisdictions",
    multiple=True,
    type=click.Choice(JURISDICTIONS),
    help="A law it answers to (repeatable).",
)
@click.option("--no-input", is_flag=True, help="Never prompt; what is not given stays a commented placeholder.")
@click.pass_obj
def new_tenant(
    ctx: Context,
    slug: str,
    legal_name: str | None,
    display_name: str | None,
    email: str | None,
    jurisdictions: tuple[str, ...],
    no_input: bool,
) -> None:
    """Write tenants/SLUG/tenant.yaml with every fact as a commented placeholder."""
    from .scaffold import TenantBasics, ask_basics
    from .scaffold import new_tenant as do_new_tenant

    def action() -> None:
        root = ctx.root()
        basics = TenantBasics(legal_name, display_name, email, jurisdictions)
        if not no_input and basics.missing() and sys.stdin.isatty():
            basics = ask_basics(basics, click.prompt)
        file = do_new_tenant(root, slug, basics)
        ctx.say(f"Wrote {file.relative_to(root)}: uncomment and fill in its facts, then run `policygen check {slug}`.")

    run(ctx, action)


@cli.command()
@click.argument("slug")
@click.option("--document", "-d", metavar="DOC", help="The document to compare (default: the tenant's first).")
@click.option(
    "--from",
    "from_version",
    metavar="VERSION",
    help="The older side: a version number or effective date (default: the last release).",
)
@click.option(
    "--to",
    "to_version",
    metavar="VERSION|working",
    default="working",
    show_default=True,
    help="The newer side: a version number, an effective date, or the working tree.",
)
@format_option("(see docs/diff.md)")
@FAIL_ON
@click.pass_obj
def diff(
    ctx: Context,
    slug: str,
    document: str | None,
    from_version: str | None,
    to_version: str,
    fmt: str,
    fail_on: str | None,
) -> None:
    """Compare two versions of a tenant's document: fact changes with their tier, and the changed words."""
    from .diff import diff_document, fails

    def action() -> int:
        report = diff_document(ctx.root(), slug, document, from_version, to_version)
        if fmt == "json":
            click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False, sort_keys=False))
        elif not ctx.quiet:
            click.echo(report.to_text(), nl=False)
        return 1 if fail_on is not None and fails(report, fail_on) else 0

    run(ctx, action)


@cli.command("upgrade-diff")
@click.argument("slugs", nargs=-1, metavar="[SLUG]...")
@click.option("--document", "-d", metavar="DOC", help="Only this document (default: every document of each tenant).")
@click.option(
    "--from-library",
    "old_library",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Compare with this older clause library (a folder laid out like content/) instead of the last release.",
)
@format_option()
@FAIL_ON
@click.pass_obj
def upgrade_diff(
    ctx: Context, slugs: tuple[str, ...], document: str | None, old_library: Path | None, fmt: str, fail_on: str | None
) -> None:
    """What this policygen's clause library changes in each tenant's text, per document, with tiers: since the
    last release (default), or since an older library (--from-library)."""
    from .upgrade import library_upgrade

    def action() -> int:
        result = library_upgrade(ctx.root(), list(slugs) or None, document, old_library)
        if fmt == "json":
            click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False, sort_keys=False))
        elif not ctx.quiet:
            click.echo(result.to_text(), nl=False)
        return 1 if fail_on is not None and result.fails(fail_on) else 0

    run(ctx, action)


@cli.command()
@click.argument("slug")
@click.option("--document", "-d", metavar="DOC", help="Only this document (default: every document of the tenant).")
@format_option("(see docs/explain.md)")
@click.pass_obj
def explain(ctx: Context, slug: str, document: str | None, fmt: str) -> None:
    """List every block of a tenant's document with the clause file and line it comes from and the facts it prints."""
    from .explain import explain as do_explain
    from .explain import format_json, format_text

    def action() -> None:
        root = ctx.root()
        explanations = do_explain(root, slug, document)
        click.echo(format_json(explanations, root) if fmt == "json" else format_text(explanations, root), nl=False)

    run(ctx, action)


@cli.command()
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but 127.0.0.1 shows the drafts to your network.",
)
@click.option("--poll", is_flag=True, help="Poll for changes (for network and container mounts without file events).")
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: build/ in the project).",
)
@click.option("--today", callback=parse_date, metavar="YYYY-MM-DD", help="The build date.")
@click.option(
    "--drafts/--no-drafts",
    default=True,
    show_default=True,
    help="Render unreleased edits of released documents as draft pages.",
)
@click.option("--timings", is_flag=True, help="Print the milliseconds from each save to each step of showing it.")
@click.pass_obj
def serve(
    ctx: Context,
    port: int,
    host: str,
    poll: bool,
    out: Path | None,
    today: dt.date | None,
    drafts: bool,
    timings: bool,
) -> None:
    """Build, serve the site locally, and rebuild and reload open pages on every save."""
    from .serve import ServeOptions, Session
    from .serve import serve as do_serve
    from .site import BuildOptions

    def log(message: str, is_error: bool) -> None:
        if is_error or not ctx.quiet:
            click.echo(message, err=is_error)

    def ready(session: Session) -> None:
        if host != "127.0.0.1":
            click.echo(f"warning: listening on {host}: other machines can see these pages", err=True)
        ctx.say(
            f"Serving {session.rebuilder.out} at {session.url} (watching {'by polling' if poll else 'for changes'}; "
            "Ctrl-C stops)"
        )

    options = ServeOptions(
        host=host, port=port, poll=poll, out=out, timings=timings, build=BuildOptions(today=today, drafts=drafts)
    )
    run(ctx, lambda: do_serve(ctx.root(), options, log, ctx.verbose, ready))


@contextmanager
def long_lived() -> Iterator[None]:
    """Make objects that live until the process ends (the engine's modules, as they are imported) without
    the cyclic garbage collector running, then set them aside from its collections: each full collection
    during the build would look through every one of them again (together about 0.04 s of a one-tenant
    rebuild of a thousand tenants). Only for a command that ends after one build: what is set aside is
    never freed."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def main() -> None:
    try:
        cli(prog_name="policygen")
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


def exit_now(code: object) -> NoReturn:
    """End the process once the command is done, without tearing the interpreter down: the exit handlers
    run and any thread that is not a daemon is waited for, as at a normal exit, but the objects of a large
    build are not freed one by one (about 0.06 s of a one-tenant rebuild of a thousand tenants)."""
    status = code if isinstance(code, int) else 0 if code is None else 1
    if not isinstance(code, int | None):
        print(code, file=sys.stderr)  # as sys.exit("message") prints it
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # its reader went away: what it was sent no longer matters
            status = status or READER_GONE
        except OSError:  # a closed file: Python's own exit says 120
            status = status or 120
    os._exit(status)

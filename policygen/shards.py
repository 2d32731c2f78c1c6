"""One site built on many machines: `policygen build --shard K/N`, then `policygen merge DIR...`.

Which shard a tenant is in depends on its slug and N alone: shard 1 + (the first 8 bytes of the
SHA-256 of the slug, read as a big-endian number) mod N. A tenant added or removed never moves
another one, and every machine computes the same split without talking to the others.

A shard's output folder holds its tenants' files and a manifest.json that lists them as a build's
does, plus a "shard" record: which part of how many, "publishable": false, and the inputs every
shard of one site must share (policygen and its code, the settings, the theme, the clause library,
the list of tenants, --today, --drafts). It is not a site: the site index, the site feed, the
sitemap and the theme's files are missing.

`merge` checks that the folders given make one whole: every shard of one split once, each built
from the inputs of the project it runs in and with one --today and --drafts, no tenant twice, every
tenant unchanged since its shard was built, every file as its manifest records it. Then it makes the
site-level files as a build does (engine.site_files) and writes the site atomically (output.write_site):
byte for byte what one build of the whole project writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from . import __version__
from .dates import utc_today
from .deps import drafts_shown, library_digest, settings_digest, tenant_key
from .engine import (
    Builder,
    BuildReport,
    Kept,
    Previous,
    SiteIndexBeside,
    TenantResult,
    counted,
    files_written,
    manifest_blocks,
    shared_key,
    site_files,
    tenants_items,
    view_from_entry,
)
from .errors import Collector, InputError, Problem, UsageError
from .feeds import FeedEntry, entries_in, records_a_version
from .fragments import Fragments
from .history import compare_with_build, read_tenant_record
from .inputs import read_bytes
from .output import KINDS, Output, check_out_dir, manifest, write_site
from .packaged import code_digest
from .paths import MANIFEST_PATH, RESERVED_SLUGS, SLUG
from .project import Project, load_base, project_theme
from .site import BuildOptions
from .spans import NO_SITE_SPANS, SiteSpans
from .tenantfolders import tenant_digest, tenant_folder, tenant_slugs
from .theme import SiteTheme
from .yamlfile import format_path

NOTE = "One shard of a site, not a publishable site: `policygen merge` joins every shard into the site."
_SHARD = re.compile(r"([0-9]{1,9})/([0-9]{1,9})")
MAX_SHOWN = 10  # problems of one kind listed before "and N more"


@dataclass(frozen=True)
class Shard:
    """Part *index* of *count* (1-based) of a project's tenants."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """K/N as given to --shard; ValueError with the reason otherwise."""
        match = _SHARD.fullmatch(text.strip())
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ValueError(f"'{text}' is not a shard: write K/N with 1 <= K <= N, e.g. 2/4")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, slug: str) -> bool:
        return shard_of(slug, self.count) == self.index


def shard_of(slug: str, count: int) -> int:
    """The shard of a tenant, from its slug alone (see the module docstring)."""
    return int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big") % count + 1


# --- what a shard records -------------------------------------------------------------------------------------


class Inputs(BaseModel):
    """What every shard of one site is built from; shards that differ here would not make one site."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    policygen: str
    code: str  # policygen's own code and data (deps.code_digest)
    settings: str  # policygen.yaml and rules.yaml
    theme: str
    library: str  # content/: every document's clauses and the partials
    tenants: str  # the slugs of every tenant in tenants/
    today: dt.date
    drafts: bool

    def differences(self, project: Inputs) -> list[str]:
        """What of the project's own inputs this differs in (not --today and --drafts: the shards set those)."""
        return [
            name
            for field_name, name in PROJECT_INPUTS.items()
            if getattr(self, field_name) != getattr(project, field_name)
        ]


PROJECT_INPUTS = {
    "policygen": "the policygen version",
    "code": "policygen's code",
    "settings": "the settings (policygen.yaml, rules.yaml)",
    "theme": "the theme",
    "library": "the clause library (content/)",
    "tenants": "the list of tenants (tenants/)",
}


def site_inputs(project: Project, theme: SiteTheme, today: dt.date, drafts: bool) -> Inputs:
    slugs = "\0".join(tenant_slugs(project.root))
    return Inputs(
        policygen=__version__,
        code=code_digest(),
        settings=settings_digest(project),
        theme=theme.digest(),
        library=library_digest(project),
        tenants=hashlib.sha256(slugs.encode()).hexdigest(),
        today=today,
        drafts=drafts,
    )


class ShardRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    index: int = Field(ge=1)
    count: int = Field(ge=1)
    publishable: Literal[False] = False
    note: str = NOTE
    inputs: Inputs

    @model_validator(mode="after")
    def _index_within_count(self) -> ShardRecord:
        if self.index > self.count:
            raise ValueError(f"shard {self.index} of {self.count} cannot be")
        return self

    @property
    def shard(self) -> Shard:
        return Shard(self.index, self.count)


@pydantic_dataclass(config=ConfigDict(extra="forbid", strict=True), frozen=True, slots=True)
class FileEntry:
    """A file as manifest.json lists it (output.Output.entry). A dataclass with slots, not a model: a merge holds
    every file entry of every shard at once (about 0.5 kB each, against about 2 kB as a model)."""

    path: str
    kind: str
    tenant: str | None
    document: str | None
    version: str | None
    effective: dt.date | None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    bytes: Annotated[int, Field(ge=0)]
    app: str | None = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind '{kind}'")
        return kind


class DocumentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    title: str
    path: str
    effective: dt.date


class TenantEntry(BaseModel):
    """A tenant as manifest.json lists it (engine.tenant_entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str
    legal_name: str
    logo: str | None
    accent: str | None
    documents: list[DocumentEntry]
    inputs: str
    releases: dict[str, Any] = Field(default_factory=dict)  # the versions published (history.record_json)


class ShardManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    generator: Literal["policygen"]
    files: list[FileEntry]
    shard: ShardRecord | None = None  # None: a whole site's manifest, not a shard's
    tenants: dict[str, TenantEntry]


# --- building a shard -----------------------------------------------------------------------------------------


class ShardBuilder(Builder):
    """A build of one shard's tenants, whose output is those tenants' files and the shard's manifest."""

    skips_unchanged = False  # its manifest also records the shard (K of N), which the tenants' keys do not cover
    writes_sitemap = False  # a shard has no sitemap: `policygen merge` makes it

    def __init__(
        self,
        root: Path,
        out: Path | None,
        options: BuildOptions,
        shard: Shard,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if options.tenants:
            raise UsageError("--shard builds a fixed part of all tenants; it cannot be combined with --tenant")
        super().__init__(root, out, options, progress)
        self.shard = shard
        self.total = 0  # tenants in the whole project

    def scope(self, slugs: list[str]) -> list[str]:
        self.total = len(slugs)
        return [slug for slug in slugs if self.shard.holds(slug)]

    def index_beside(self, project: Project, theme: SiteTheme, kept: Kept, staging: Path) -> SiteIndexBeside | None:
        return None  # a shard has no site index: `policygen merge` makes it

    def assemble(
        self,
        project: Project,
        theme: SiteTheme,
        kept: Kept,
        options: BuildOptions,
        manifest_file: Path,
        fragments: Fragments,
        index: SiteIndexBeside | None = None,
        spans: SiteSpans = NO_SITE_SPANS,
    ) -> list[Output]:
        results = kept.results.ordered()  # each written already: its files are not in memory (a shard has no site feed)
        outputs: list[Output] = []
        record = ShardRecord(
            index=self.shard.index,
            count=self.shard.count,
            inputs=site_inputs(project, theme, options.today or utc_today(), options.drafts),
        )
        tenants = tenants_items(results, spans.tenants.copier)
        extra: dict[str, object] = {"shard": record.model_dump(mode="json"), "tenants": tenants}
        blocks = manifest_blocks(results, fragments, spans.manifest.copier)
        outputs.append(manifest(outputs, extra, manifest_file, blocks, spans.manifest.recorder, spans.tenants.recorder))
        return outputs


@dataclass
class ShardReport:
    build: BuildReport
    shard: Shard
    total: int  # tenants in the whole project

    def summary(self) -> list[str]:
        return [
            self.build.summary(),
            f"Shard {self.shard} holds {len(self.build.tenants):,} of the project's "
            f"{counted(self.total, 'tenant')}; "
            "it is not a publishable site: `policygen merge` joins the shards into one.",
        ]


def build_shard(
    root: Path,
    out: Path | None,
    options: BuildOptions,
    shard: Shard,
    progress: Callable[[int, int], None] | None = None,
) -> ShardReport:
    """Build shard *shard* of the project at *root* into *out* (default: root/build)."""
    builder = ShardBuilder(root, out, options, shard, progress)
    report = builder.build()
    return ShardReport(report, shard, builder.total)


# --- reading shards back --------------------------------------------------------------------------------------


@dataclass
class Part:
    """One shard's output folder, as its manifest describes it."""

    folder: Path
    shown: str  # the folder as messages name it: from the project root when inside it
    record: ShardRecord
    files: list[FileEntry]
    tenants: dict[str, TenantEntry]

    @property
    def shard(self) -> Shard:
        return self.record.shard

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST_PATH

    def problem(
        self, key_path: str | None, message: str, expected: str | None = None, hint: str | None = None
    ) -> Problem:
        return Problem(message, file=self.manifest, key_path=key_path, expected=expected, suggestion=hint)


def read_part(folder: Path, root: Path, problems: Collector) -> Part | None:
    """The shard in *folder*, or None with its problems added."""
    file = folder / MANIFEST_PATH
    rebuild = "give the folders `policygen build --shard K/N --out DIR` wrote"
    try:
        raw = file.read_bytes()
    except OSError:
        problems.add(
            Problem(
                "no manifest.json here: this folder is not a shard's output",
                file=file,
                expected="the output folder of `policygen build --shard K/N`",
                suggestion=rebuild,
            )
        )
        return None
    try:
        data = ShardManifest.model_validate_json(raw)
    except ValidationError as exc:
        problems.extend(_manifest_problems(file, raw, exc))
        return None
    if data.shard is None:
        problems.add(
            Problem(
                "this is a whole site's output, not a shard's (its manifest.json has no shard record)",
                file=file,
                key_path="shard",
                expected="the output folder of `policygen build --shard K/N`",
                suggestion=rebuild,
            )
        )
        return None
    shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
    part = Part(folder, shown, data.shard, data.files, data.tenants)
    before = len(problems.problems)
    _check_part(part, problems)
    return part if len(problems.problems) == before else None


def _manifest_problems(file: Path, raw: bytes, exc: ValidationError) -> list[Problem]:
    hint = "build the shard again; its files were changed or damaged since"
    found: list[Problem] = []
    for err in exc.errors(include_url=False):
        if err["type"] == "json_invalid":
            found.append(_syntax_problem(file, raw, hint))
            break
        found.append(
            Problem(
                err["msg"].removeprefix("Value error, "),
                file=file,
                key_path=format_path(tuple(err["loc"])) or None,
                suggestion=hint,
            )
        )
    return _capped(found, file, "problems in this manifest.json")


def _syntax_problem(file: Path, raw: bytes, hint: str) -> Problem:
    try:
        json.loads(raw)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            return Problem(f"not valid JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno, suggestion=hint)
    return Problem("not valid JSON", file=file, suggestion=hint)


def _capped(found: list[Problem], file: Path | None, what: str) -> list[Problem]:
    """At most MAX_SHOWN problems of one kind, then one line counting the rest: a damaged file is one mistake."""
    if len(found) <= MAX_SHOWN:
        return found
    return [*found[:MAX_SHOWN], Problem(f"and {len(found) - MAX_SHOWN:,} more {what}", file=file)]


def _check_part(part: Part, problems: Collector) -> None:
    """Every tenant belongs in this shard, and every file is one of its tenants' (so cannot land elsewhere)."""
    found: list[Problem] = []
    for slug in part.tenants:
        if not SLUG.fullmatch(slug) or slug in RESERVED_SLUGS:
            found.append(part.problem(f"tenants.{slug}", f"'{slug}' is not a tenant slug"))
        elif not part.shard.holds(slug):
            found.append(
                part.problem(
                    f"tenants.{slug}",
                    f"tenant '{slug}' belongs in shard "
                    f"{shard_of(slug, part.shard.count)}/{part.shard.count}, not {part.shard}",
                    hint="build the shard again; its manifest.json was changed since",
                )
            )
    seen: set[str] = set()
    for i, entry in enumerate(part.files):
        if entry.tenant not in part.tenants or not _under(entry.path, entry.tenant) or entry.path in seen:
            found.append(
                part.problem(
                    f"files[{i}].path",
                    f"'{entry.path}' is not a file of this shard's tenants"
                    + (" (listed twice)" if entry.path in seen else ""),
                    expected="a path inside the folder of a tenant listed under 'tenants'",
                    hint="build the shard again; its manifest.json was changed since",
                )
            )
        seen.add(entry.path)
    problems.extend(_capped(found, part.manifest, "problems in this manifest.json"))


def _under(path: str, tenant: str) -> bool:
    """A plain relative path inside the tenant's folder: nothing that could step out of it or be read two ways."""
    parts = PurePosixPath(path).parts
    return (
        len(parts) >= 2
        and parts[0] == tenant
        and "/".join(parts) == path
        and "\\" not in path
        and not any(p in (".", "..") for p in parts)
    )


# --- merging ----------------------------------------------------------------------------------------------------


@dataclass
class MergeReport:
    out: Path
    outputs: list[Output]
    shards: int
    tenants: list[str]
    seconds: float

    def summary(self) -> str:
        return (
            f"Merged {counted(self.shards, 'shard')} of {counted(len(self.tenants), 'tenant')} in "
            f"{self.seconds:.2f} s: {files_written(self.outputs)}, in {self.out}"
        )


def merge(root: Path, folders: list[Path], out: Path | None = None) -> MergeReport:
    """Join the shard outputs in *folders* into the site of the project at *root*, in *out* (default: root/build)."""
    started = time.perf_counter()
    problems = Collector()
    project = load_base(root, problems)
    problems.raise_if_any()
    folders = [f.resolve() for f in folders]
    out = _merge_out(project, out, folders)
    parts = [part for folder in folders if (part := read_part(folder, project.root, problems)) is not None]
    problems.raise_if_any()
    theme = project_theme(project)
    first = parts[0]
    options = BuildOptions(today=first.record.inputs.today, drafts=first.record.inputs.drafts)
    whole = _one_of_each(parts, problems)
    expected = site_inputs(project, theme, first.record.inputs.today, first.record.inputs.drafts)
    _same_inputs(whole, first, expected, problems)
    problems.raise_if_any()
    _tenants_as_built(project, whole, shared_key(project, expected.theme, options), options.drafts, problems)
    problems.raise_if_any()
    results = sorted((r for part in whole for r in _results(part, problems)), key=lambda r: r.slug)
    problems.raise_if_any()
    _history_kept(project, out, results, problems)
    problems.raise_if_any()
    outputs = site_files(project, theme, results, options)
    write_site(out, outputs)
    return MergeReport(out, outputs, len(whole), [r.slug for r in results], time.perf_counter() - started)


def _history_kept(project: Project, out: Path, results: list[TenantResult], problems: Collector) -> None:
    """Every version the site in *out* published must still be published by the merged site, as a build
    checks (site.load_histories): each shard compared only with its own folder, which CI makes empty."""
    previous = Previous(out)
    if previous.damaged is not None:
        problems.add(previous.damaged)
    for result in results:
        for doc_id, before in sorted((previous.published.get(result.slug) or {}).items()):
            if doc_id in result.releases:
                problems.extend(
                    compare_with_build(
                        project.root / "tenants" / result.slug / "releases" / doc_id,
                        result.releases[doc_id],
                        before,
                        previous.file,
                        project.root,
                    )
                )


def _merge_out(project: Project, out: Path | None, folders: list[Path]) -> Path:
    target = (out if out is not None else project.root / "build").resolve()
    for folder in folders:
        if target.is_relative_to(folder) or folder.is_relative_to(target):
            raise UsageError(
                f"the output folder {target} cannot be, hold or lie inside the shard folder {folder}: "
                "writing the site replaces the whole output folder (choose one such as build/)"
            )
    return check_out_dir(target, project.reserved)


def _one_of_each(parts: list[Part], problems: Collector) -> list[Part]:
    """The parts of one split, each once; problems for the rest and for the shards missing."""
    count = parts[0].shard.count
    by_index: dict[int, Part] = {}
    for part in parts:
        if part.shard.count != count:
            problems.add(
                part.problem(
                    "shard.count",
                    f"shard {part.shard} is one of {part.shard.count} shards, but "
                    f"shard {parts[0].shard} ({parts[0].shown}) is one of {count}",
                    hint="give the shards of one split: every one built with --shard K/N, one N",
                )
            )
        elif part.shard.index in by_index:
            problems.add(
                part.problem(
                    "shard.index",
                    f"shard {part.shard} is given twice (also as {by_index[part.shard.index].shown})",
                    hint="give each shard's folder once",
                )
            )
        else:
            by_index[part.shard.index] = part
    missing = count - len(by_index)
    if missing:
        # The first few missing, found without walking a count a damaged manifest may make huge.
        first = list(itertools.islice((i for i in itertools.count(1) if i not in by_index), min(missing, MAX_SHOWN)))
        more = missing - len(first)
        shown = ", ".join(f"{i}/{count}" for i in first) + (f" and {more:,} more" if more else "")
        problems.add(
            Problem(
                f"shard{'s' if missing > 1 else ''} {shown} missing: a site needs all {count:,} shards",
                expected=f"the output folders of shards 1/{count} to {count}/{count}",
                suggestion=f"give the folder `policygen build --shard {first[0]}/{count}` wrote",
            )
        )
    return [by_index[i] for i in sorted(by_index)]


def _same_inputs(parts: list[Part], first: Part, expected: Inputs, problems: Collector) -> None:
    """Each shard built from this project's inputs, and all with the first one's --today and --drafts."""
    for part in parts:
        built = part.record.inputs
        differ = built.differences(expected)
        if differ:
            problems.add(
                part.problem(
                    "shard.inputs",
                    f"shard {part.shard} was built from other inputs than this "
                    f"project's: {', '.join(differ)} differ{'s' if len(differ) == 1 else ''}",
                    expected="shards built from this checkout, with this policygen",
                    hint=f"build shard {part.shard} again here, or merge in the checkout it was built from",
                )
            )
        if (built.today, built.drafts) != (expected.today, expected.drafts):
            problems.add(
                part.problem(
                    "shard.inputs.today",
                    f"shard {part.shard} was built with {_flags(built)}, "
                    f"shard {first.shard} ({first.shown}) with {_flags(expected)}",
                    hint="build every shard with the same --today (and --drafts or not)",
                )
            )


def _flags(inputs: Inputs) -> str:
    return f"--today {inputs.today.isoformat()}" + (" --drafts" if inputs.drafts else " (no --drafts)")


def _tenants_as_built(project: Project, parts: list[Part], shared: str, drafts: bool, problems: Collector) -> None:
    """Every tenant of the project in exactly one shard, its files unchanged since that shard was built (with or
    without *drafts*)."""
    # No tenant can be in two shards: each part holds only tenants of its own shard, and each shard is given once.
    where: dict[str, Part] = {}
    found: list[Problem] = []
    for part in parts:
        for slug, entry in part.tenants.items():
            where[slug] = part
            folder = project.root / "tenants" / slug
            try:
                folder = tenant_folder(project.root, slug)
                drafted = drafts_shown(drafts, entry.releases)
                changed = not (folder / "tenant.yaml").is_file() or entry.inputs != tenant_key(
                    project, tenant_digest(folder), (d.id for d in entry.documents), shared, drafted
                )
            except InputError as exc:
                found.extend(exc.problems)
                continue
            if changed:
                found.append(
                    Problem(
                        f"tenant '{slug}' changed since shard {part.shard} ({part.shown}) was built",
                        file=folder,
                        suggestion=f"build shard {part.shard} again from this checkout",
                    )
                )
    for slug in tenant_slugs(project.root):
        if slug not in where:
            found.append(
                Problem(
                    f"tenant '{slug}' is in no shard given",
                    file=project.root / "tenants" / slug,
                    suggestion="build every shard from this checkout, then merge them all",
                )
            )
    problems.extend(_capped(found, None, "tenants in the wrong state"))


def _results(part: Part, problems: Collector) -> list[TenantResult]:
    """The part's tenants with their files checked against their manifest entries. A file's bytes are read to
    check them, then let go (holding every page would hold the whole site): the merged site links the shard's
    file, and a version's version.json gives its entry of the site feed as it is read, as a build's render does."""
    files: dict[str, list[Output]] = {slug: [] for slug in part.tenants}
    feeds: dict[str, list[FeedEntry]] = {slug: [] for slug in part.tenants}
    reader = _ShardReader(str(part.folder.resolve()))
    found: list[Problem] = []
    for entry in part.files:
        target = part.folder / entry.path
        data = reader.read_as_recorded(entry)
        if data is None:
            found.append(
                Problem(
                    f"differs from what shard {part.shard}'s manifest.json records "
                    "(changed, damaged or missing since the shard was built)",
                    file=target,
                    suggestion=f"build shard {part.shard} again",
                )
            )
            continue
        assert entry.tenant is not None  # _check_part made sure
        output = Output(
            entry.path,
            entry.kind,
            data,
            tenant=entry.tenant,
            document=entry.document,
            version=entry.version,
            effective=entry.effective,
            app=entry.app,
            sha256=entry.sha256,  # checked above
        )
        if records_a_version(output):  # the site feed's entries, read while the bytes are here
            feeds[entry.tenant].extend(entries_in([output]))
        files[entry.tenant].append(output.on_disk(str(target)))  # its bytes stay in the shard's file
    problems.extend(_capped(found, part.manifest, "files that differ"))
    results: list[TenantResult] = []
    for slug, recorded in part.tenants.items():
        try:
            releases = read_tenant_record(recorded.releases)
        except ValueError as exc:
            problems.add(
                Problem(
                    f"tenant '{slug}': its record of published versions is damaged ({exc})",
                    file=part.folder / MANIFEST_PATH,
                    suggestion=f"build shard {part.shard} again",
                )
            )
            continue
        results.append(
            TenantResult(
                slug,
                recorded.inputs,
                files[slug],
                view_from_entry(slug, recorded.model_dump(mode="json")),
                rendered=False,
                releases=releases,
                feed=feeds[slug],
            )
        )
    return results


class _ShardReader:
    """Reads a shard's files as its manifest records them: regular files reached from the shard's folder through
    real folders only, never through a link (a shard comes from another machine, so its links are not followed).
    Each folder is looked at once for the files in it; the manifest lists them in path order, so only the folders
    of the tenant being read are remembered."""

    def __init__(self, base: str) -> None:
        self.base = base  # the shard's folder, resolved
        self._tenant = ""
        self._real: set[str] = set()  # folders of that tenant found to be real folders, not links

    def read_as_recorded(self, entry: FileEntry) -> bytes | None:
        """The file's bytes if it is a regular file of the shard with the recorded size and hash, else None."""
        try:
            if not self._real_folder(entry.path.rpartition("/")[0]):
                return None
            data = read_bytes(Path(self.base, entry.path), entry.bytes, follow=False)  # larger: refused unread
        except (OSError, InputError):
            return None
        return data if hashlib.sha256(data).hexdigest() == entry.sha256 else None

    def _real_folder(self, folder: str) -> bool:
        """Whether *folder* (relative to the shard's folder) and each folder above it is a real folder; OSError
        when one is not there."""
        tenant = folder.partition("/")[0]
        if tenant != self._tenant:
            self._tenant, self._real = tenant, set()
        at = ""
        for name in folder.split("/"):
            at = f"{at}/{name}" if at else name
            if at not in self._real:
                if not stat.S_ISDIR(os.lstat(os.path.join(self.base, at)).st_mode):
                    return False  # a link, or not a folder
                self._real.add(at)
        return True

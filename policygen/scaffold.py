"""Starting points: a whole project (`policygen init DIR`) and one tenant (`policygen new-tenant SLUG`).

A new project holds only what it needs to start, from policygen/data/starter/:
a sample tenant that passes `policygen check`, policygen.yaml, a GitHub Actions
workflow, a pre-commit config, .gitignore and content/README.md on overrides.
The clause library and the default theme are not copied: they ship inside the
package (policygen.packaged), so an upgrade of policygen reaches the project.
Dotfiles are stored without their dot (package data globs skip hidden files)
and renamed on the way out.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from . import __version__
from .dates import utc_today
from .errors import UsageError
from .facts import _check_email, visible
from .jurisdictions import JURISDICTIONS, US_STATE_LAWS
from .paths import RESERVED_SLUGS, SLUG
from .tenantfolders import check_slug, reserved_slug

LOCALES = {"eu_gdpr": "en", "uk_gdpr": "en-GB", "in_dpdp": "en-IN"} | dict.fromkeys(US_STATE_LAWS, "en-US")
RENAMED = {"github": ".github", "gitignore": ".gitignore", "pre-commit-config.yaml": ".pre-commit-config.yaml"}


def starter() -> Traversable:
    """The files only a new project has: sample tenant, settings, CI workflow."""
    return resources.files("policygen") / "data" / "starter"


# --- init --------------------------------------------------------------------------------------------


@dataclass
class InitReport:
    root: Path
    files: list[str] = field(default_factory=list)  # relative paths, sorted


def init(target: Path) -> InitReport:
    """Create a working project in *target* (a new or empty folder), all at once or not at all."""
    target = target.resolve()
    if target.exists():
        if not target.is_dir():
            raise UsageError(f"{target} exists and is not a folder")
        if any(target.iterdir()):
            raise UsageError(f"{target} is not empty; give a new or empty folder")
    stage = target.parent / f".{target.name}.policygen-init"
    if stage.exists():
        shutil.rmtree(stage)  # left by an interrupted init; ours by its name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        files = _copy(starter(), stage, "")
        if target.exists():
            target.rmdir()
        os.rename(stage, target)  # the project appears whole, or not at all
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise UsageError(f"cannot create {target}: {exc.strerror or exc}") from None
    return InitReport(target, sorted(files))


def _copy(source: Traversable, dest: Path, prefix: str) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__" or entry.name.endswith(".pyc"):
            continue
        name = RENAMED.get(entry.name, entry.name) if not prefix else entry.name
        rel = f"{prefix}{name}"
        if entry.is_dir():
            written.extend(_copy(entry, dest / name, rel + "/"))
        else:
            data = entry.read_bytes()
            if rel == ".github/workflows/policy.yml":
                data = data.replace(b"__VERSION__", __version__.encode())
            (dest / name).write_bytes(data)
            written.append(rel)
    return written


# --- new-tenant -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantBasics:
    """What new-tenant asks for; anything left out stays a commented placeholder."""

    legal_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    jurisdictions: tuple[str, ...] = ()

    def validated(self) -> TenantBasics:
        if self.email is not None:
            _email(self.email)
        _jurisdictions(self.jurisdictions)
        for name in ("legal_name", "display_name"):
            value = getattr(self, name)
            if value is not None:
                _name(name, value)
        return self

    def missing(self) -> list[str]:
        return [n for n in ("legal_name", "display_name", "email") if getattr(self, n) is None] + (
            ["jurisdictions"] if not self.jurisdictions else []
        )


def _email(value: str) -> str:
    try:
        return _check_email(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _jurisdictions(names: tuple[str, ...]) -> tuple[str, ...]:
    for j in names:
        if j not in JURISDICTIONS:
            raise UsageError(f"'{j}' is not a jurisdiction; use one of {', '.join(JURISDICTIONS)}")
    return names


def _listed(answer: str) -> tuple[str, ...]:
    return tuple(j.strip() for j in answer.split(",") if j.strip())


def _name(name: str, value: str) -> str:
    if not visible(value):  # the same rule as the facts' text type
        raise UsageError(f"{name.replace('_', ' ')} is empty or has nothing visible")
    return value


Prompt = Callable[..., str]


def _asked(check: Callable[[str], object]) -> Callable[[str], str]:
    """A prompt's value_proc: the answer when *check* takes it; else the prompt says why and asks again,
    rather than ending the command after the last question with every answer lost."""
    import click

    def answer(text: str) -> str:
        try:
            check(text)
        except UsageError as exc:
            raise click.BadParameter(str(exc)) from None
        return text

    return answer


def ask_basics(basics: TenantBasics, prompt: Prompt) -> TenantBasics:
    """Ask for the basics not given as flags (called only when stdin is a terminal)."""
    import click

    legal = basics.legal_name or prompt(
        "Legal name of the organisation", value_proc=_asked(lambda text: _name("legal_name", text))
    )
    display = basics.display_name or prompt(
        "Name people know it by", default=legal, value_proc=_asked(lambda text: _name("display_name", text))
    )
    email = basics.email or prompt(
        "Email for privacy questions",
        default="",
        show_default=False,
        value_proc=_asked(lambda text: text and _email(text)),  # empty: none given
    )
    jurisdictions = basics.jurisdictions
    if not jurisdictions:
        answer = prompt(
            f"Jurisdiction ({', '.join(JURISDICTIONS)}; comma-separated, empty for none)",
            default="",
            show_default=False,
            type=click.STRING,
            value_proc=_asked(lambda text: _jurisdictions(_listed(text))),
        )
        jurisdictions = _listed(answer)
    return replace(basics, legal_name=legal, display_name=display, email=email or None, jurisdictions=jurisdictions)


def skeleton(slug: str, basics: TenantBasics, today: dt.date) -> str:
    """The text of a new tenant.yaml: given basics filled in, every other fact a commented placeholder."""
    template = string.Template(
        (resources.files("policygen") / "data" / "tenant-skeleton.yaml").read_text(encoding="utf-8")
    )
    return template.substitute(
        slug=slug,
        organisation=_organisation_block(basics),
        jurisdictions=(
            f"jurisdictions: [{', '.join(basics.jurisdictions)}]"
            if basics.jurisdictions
            else "# jurisdictions: [eu_gdpr]"
        ),
        locale=LOCALES.get(basics.jurisdictions[0], "en") if basics.jurisdictions else "en",
        today=today.isoformat(),
    )


def _organisation_block(basics: TenantBasics) -> str:
    fields = (
        ("legal_name", basics.legal_name, "Your Company Ltd"),
        ("display_name", basics.display_name, "Your Brand"),
        ("email", basics.email, "privacy@example.org"),
    )
    lines = ["organisation:"]
    for key, value, example in fields:
        # JSON strings are YAML double-quoted scalars: any name is kept as text.
        lines.append(f"  {key}: {json.dumps(value, ensure_ascii=False)}" if value else f"  # {key}: {example}")
    lines += [
        "  # role: controller  # or processor, controller_and_processor; never assumed",
        "  # website: https://www.example.org",
        "  # address:",
        "  #   lines: [1 Example Street]",
        "  #   locality: Town",
        "  #   country: Country",
    ]
    if not any(value for _, value, _ in fields):  # nothing known yet: the whole block is a placeholder
        lines = ["# organisation:"] + ["#   " + line[4:] for line in lines[1:]]
    return "\n".join(lines)


def new_tenant(root: Path, slug: str, basics: TenantBasics, today: dt.date | None = None) -> Path:
    """Write tenants/SLUG/tenant.yaml; refuses a tenant that exists."""
    if not SLUG.fullmatch(slug):
        raise UsageError(f"'{slug}' is not a tenant slug: use lower-case letters, digits and '-'")
    folder = check_slug(root, slug)
    reserved = reserved_slug(slug)
    if reserved is not None:  # the build would refuse the folder: refuse to make it
        raise UsageError(f"{reserved}; use a slug other than {', '.join(sorted(RESERVED_SLUGS))}, e.g. {slug}-org")
    file = folder / "tenant.yaml"
    if folder.exists():
        raise UsageError(f"tenant '{slug}' exists already ({file.relative_to(root)})")
    text = skeleton(slug, basics.validated(), today or utc_today())
    folder.mkdir(parents=True)
    temp = folder / ".tenant.yaml.new"
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, file)
    return file

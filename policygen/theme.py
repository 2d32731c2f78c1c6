"""HTML themes, with project overrides looked up first (like Hugo's layouts/).

themes/<name>/templates/*.html   the theme's page templates
themes/<name>/static/*           files copied to assets/ in the output
layouts/*.html                   project overrides of any theme template
static/*                         project overrides or additions to assets/

The default theme ships inside policygen (policygen.packaged): a project's
themes/default/ only needs the files it changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from markupsafe import Markup, escape

from .dates import format_day
from .editorfiles import is_editor_file
from .errors import InputError, Problem, did_you_mean
from .inputs import CONFIG_FILE
from .output import Output
from .packaged import known_themes, packaged_theme, theme_folders
from .paths import THEME_ASSETS
from .sandbox import THEME_FILTERS, THEME_LIMITS, BoundedSandbox, explain_failure, template_position
from .skeletons import Skeletons
from .vocabulary import ForeignWord, LeftToRight, MixedText, mark, mixed
from .yamlfile import load

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


STREAM_PIECES = 1024  # pieces of a streamed page joined and encoded at once (a few kB)


def unknown_theme(root: Path, name: str) -> Problem:
    """policygen.yaml names a theme that is neither the project's nor policygen's own."""
    known = known_themes(root)
    problem = Problem(
        f"theme '{name}' not found",
        file=root / CONFIG_FILE,
        key_path="theme",
        expected="a folder themes/<name>/templates; themes here: " + ", ".join(known),
        suggestion=did_you_mean(name, known),
    )
    if (root / CONFIG_FILE).is_file():  # it was read (and so is readable) before the theme was looked for
        line, column = load(root / CONFIG_FILE).where(("theme",))
        problem = replace(problem, line=line, column=column)
    return problem


def marked(text: str, page_lang: str | None = None) -> Markup:
    """*text* for a page's body, escaped, with its words in another language marked with their lang.

    `{{ tenant.name|marked(lang) }}`: with the page's language, whatever is in another language is marked (and
    given its direction when it runs the other way from the page): a ForeignWord whole (a tenant's fact printed
    untranslated), a MixedText's ForeignWord parts (a tenant's words quoted untranslated in a finding).
    `{{ finding.says|marked }}`: without it, a MixedText's parts; a whole ForeignWord is left to the template,
    which marks its element (a finding's `<li lang>`). A MixedText's LeftToRight parts (an address inside a
    right-to-left sentence) are isolated. Other text is only escaped. The mark is written only where a
    template asks for it: the same text in an attribute, a <title> or a feed stays plain text."""
    if isinstance(text, MixedText):
        parts: tuple[str, ...] = text.parts
    elif isinstance(text, ForeignWord) and page_lang is not None:
        parts = (text,)
    else:
        return escape(text)
    # Each part comes back escaped (or is the template's own Markup), so they are joined as they are:
    # Markup's join and format would escape them again, which leaves the text the same and costs a worker
    # more than the rest of the filter.
    return Markup("".join([_marked_part(p, page_lang) for p in parts]))


def _marked_part(part: str, page_lang: str | None) -> str:
    """*part* escaped, in its lang's mark or isolated as its kind asks; a Markup part is kept as it is."""
    if isinstance(part, ForeignWord) and (page_lang is None or part.lang != _language(page_lang)):
        return mark(part, escape(part), page_lang)
    if isinstance(part, LeftToRight):
        return f'<bdi dir="ltr">{escape(part)}</bdi>'
    return escape(part)


def _language(locale: str) -> str:
    """A locale's language subtag: hi-IN -> hi."""
    return locale.replace("_", "-").split("-")[0].lower()


class SiteTheme:
    """A theme's templates, rendered in the bounded sandbox unless policygen.yaml sets trusted_theme: true."""

    def __init__(self, root: Path, name: str, trusted: bool = False) -> None:
        self.root = root
        self.name = name
        self.folders = theme_folders(root, name)  # the project's first, then policygen's own
        if not self.folders:
            raise InputError([unknown_theme(root, name)])
        self.folder = self.folders[0]
        self.search = [root / "layouts", *(f / "templates" for f in self.folders)]
        self._has: dict[str, bool] = {}  # has_template's answers
        # Build, check and serve make their theme with project.project_theme, so they agree on the setting.
        self.trusted = trusted
        options: dict[str, Any] = {
            "loader": jinja2.FileSystemLoader([str(p) for p in self.search]),
            "autoescape": True,
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "auto_reload": False,
        }
        self.env: jinja2.Environment
        own: dict[str, Callable[..., Any]] = {"longdate": format_day, "t": self.translate, "marked": marked}
        if self.trusted:
            self.env = jinja2.Environment(**options)
            self.env.filters.update(own)
        else:
            sandbox = BoundedSandbox(THEME_LIMITS, THEME_FILTERS, **options)
            sandbox.add_filters(own)
            self.env = sandbox
        self._words: dict[str, dict[str, str]] = {}
        volume = self.env.limits.volume if isinstance(self.env, BoundedSandbox) else None
        self.skeletons = Skeletons(self.env, volume)

    def translate(self, text: str, lang: str, **values: object) -> str:
        """The theme's own words (headings, labels) in the page's language, from the theme's
        i18n/<lang>.yaml (English text: its translation); the English text when it has none.

        Each {name} in the words is replaced by *values*' text in one pass after the lookup (a value is
        never read for names itself, and the words are never a format that could reach an object's
        attributes): `{{ "Read version {version}"|t(lang, version=3) }}`."""
        language = _language(lang)
        if language not in self._words:
            self._words[language] = self._read_words(language)
        words = self._words[language].get(text, text)
        if not values:
            return words
        # Each value keeps its language (a ForeignWord: a tenant's name printed untranslated), for |marked.
        parts: list[str] = []
        at = 0
        for match in _PLACEHOLDER.finditer(words):
            if match[1] in values:
                value = values[match[1]]
                parts += [words[at : match.start()], value if isinstance(value, str) else str(value)]
                at = match.end()
        return mixed(*parts, words[at:])

    def words_file(self, language: str) -> Path | None:
        """The file the theme's words in *language* (a language subtag) are read from: the project's theme's
        i18n/<lang>.yaml, else policygen's own (a project's file replaces policygen's whole); None: no words."""
        for folder in self.folders:  # the project's theme first
            file = folder / "i18n" / f"{language}.yaml"
            if file.is_file():
                return file
        return None

    def packaged_words(self, language: str) -> bool:
        """Whether the theme's words in *language* are the ones policygen ships."""
        file, shipped = self.words_file(language), packaged_theme(self.name)
        return file is not None and shipped is not None and file.resolve().is_relative_to(shipped.resolve())

    def _read_words(self, language: str) -> dict[str, str]:
        file = self.words_file(language)
        if file is None:
            return {}
        data = load(file).data
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError([Problem("theme words must be a mapping of English text to its translation", file=file)])
        return {str(k): v for k, v in data.items()}

    def __reduce__(self) -> tuple[type[SiteTheme], tuple[Path, str, bool]]:
        # Build workers get a fresh theme: compiled templates and the sandbox stay in their process.
        return (SiteTheme, (self.root, self.name, self.trusted))

    def compile_templates(self) -> None:
        """Compile every template of the theme now, before any page is rendered: a build's worker processes
        start as copies of this process (engine.py) and so find them compiled. A template that does not
        compile is left to the render that uses it, which reports it (hence every error is suppressed here)."""
        for name in self.env.list_templates(filter_func=lambda name: not is_editor_file(name.rpartition("/")[2])):
            with contextlib.suppress(Exception):
                self.env.get_template(name)

    def has_template(self, name: str) -> bool:
        """Whether the project's layouts/ or the theme has the template *name*: a project's own theme, made
        before policygen added a template, may not have it. Looked up once: a theme whose files change is
        another SiteTheme (engine and serve make a new one when its digest changes)."""
        found = self._has.get(name)
        if found is None:
            found = self._has[name] = any((folder / name).is_file() for folder in self.search)
        return found

    def render(self, template: str, **context: Any) -> bytes:
        try:
            filled = self.skeletons.render(template, context, self._counted)
            if filled is not None:  # the page's skeleton, its holes filled in (skeletons.py)
                return filled.encode()
            compiled = self.env.get_template(template)
            if isinstance(self.env, BoundedSandbox):
                return self.env.render(compiled, context).encode()
            return compiled.render(**context).encode()
        except Exception as exc:
            raise self._failed(template, exc) from None

    def _counted(self, template: str, context: Mapping[str, Any]) -> tuple[str, int]:
        """*template* rendered with *context*, and the volume the sandbox counted (0 for a trusted theme)."""
        compiled = self.env.get_template(template)
        if isinstance(self.env, BoundedSandbox):
            return self.env.render_counted(compiled, context)
        return compiled.render(**context), 0

    def stream(self, template: str, **context: Any) -> Iterator[bytes]:
        """What render returns, a batch of pieces at a time: a page that lists every tenant of a large site (the
        site index) is written as it is made, never whole in memory. Pieces are a few characters each (about a
        dozen per tenant), so they are joined as text and encoded a batch at a time, not one by one."""
        try:
            compiled = self.env.get_template(template)
            if isinstance(self.env, BoundedSandbox):
                pieces = self.env.generate(compiled, context)
            else:
                pieces = compiled.generate(**context)
            while batch := list(itertools.islice(pieces, STREAM_PIECES)):
                yield "".join(batch).encode()
        except Exception as exc:
            raise self._failed(template, exc) from None

    def _failed(self, template: str, exc: Exception) -> InputError:
        """The failure *exc* of the theme's *template*, as a located problem."""
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return InputError(
                [
                    Problem(
                        f"theme template syntax error: {exc.message}",
                        file=Path(exc.filename) if exc.filename else None,
                        line=exc.lineno,
                    )
                ]
            )
        if isinstance(exc, jinja2.TemplateNotFound):
            return InputError(
                [
                    Problem(
                        f"theme template '{exc.name}' not found",
                        expected=f"a file in {', '.join(str(p) for p in self.search)}",
                    )
                ]
            )
        file, line = template_position(exc)
        return InputError([_theme_problem(template, exc, file, line)])

    def digest(self) -> str:
        """Hash of every file that can change how pages look."""
        h = hashlib.sha256()
        for base in [*self.search, *(f / "i18n" for f in self.folders), *self._static()]:
            if base.is_dir():
                for file in sorted(p for p in base.rglob("*") if p.is_file() and not is_editor_file(p.name)):
                    h.update(file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
        return h.hexdigest()

    def _static(self) -> list[Path]:
        """Folders of files for assets/, the one that wins last: policygen's theme, the project's, static/."""
        return [*(f / "static" for f in reversed(self.folders)), self.root / "static"]

    def assets(self) -> list[Output]:
        files: dict[str, bytes] = {}
        for base in self._static():  # later wins: project overrides theme
            if base.is_dir():
                for file in sorted(p for p in base.rglob("*") if p.is_file() and not is_editor_file(p.name)):
                    files[f"{THEME_ASSETS}/{file.relative_to(base).as_posix()}"] = file.read_bytes()
        return [Output(path, "asset", data) for path, data in sorted(files.items())]


def _theme_problem(template: str, exc: Exception, file: Path | None, line: int | None) -> Problem:
    if isinstance(exc, jinja2.UndefinedError):
        return Problem(
            f"theme template '{template}': {exc.message}",
            file=file,
            line=line,
            expected="a name policygen passes to this template",
        )
    message, expected, hint = explain_failure(exc)
    if isinstance(exc, SecurityError):  # TemplateLimit too
        hint = f"{hint}; a theme the project reviews like code can set trusted_theme: true in policygen.yaml"
    return Problem(f"theme template '{template}': {message}", file=file, line=line, expected=expected, suggestion=hint)

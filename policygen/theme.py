"""HTML themes, with project overrides looked up first (like Hugo's layouts/).

themes/<name>/templates/*.html   the theme's page templates
themes/<name>/static/*           files copied to assets/ in the output
layouts/*.html                   project overrides of any theme template
static/*                         project overrides or additions to assets/
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jinja2
from .dates import format_day

from .editorfiles import is_editor_file
from .errors import InputError, Problem
from .output import Output


class Theme:
    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.folder = root / "themes" / name
        if not (self.folder / "templates").is_dir():
            known = sorted(p.name for p in (root / "themes").glob("*") if (p / "templates").is_dir())
            raise InputError([Problem(f"theme '{name}' not found", file=root / "policygen.yaml", key_path="theme",
                                      expected="a folder themes/<name>/templates", suggestion=f"known themes: {', '.join(known) or 'none'}")])
        self.search = [root / "layouts", self.folder / "templates"]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in self.search]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["longdate"] = format_day

    def render(self, template: str, **context: Any) -> bytes:
        try:
            return self.env.get_template(template).render(**context).encode()
        except jinja2.TemplateSyntaxError as exc:
            raise InputError([Problem(f"theme template syntax error: {exc.message}",
                                      file=Path(exc.filename) if exc.filename else None, line=exc.lineno)]) from None
        except jinja2.TemplateNotFound as exc:
            raise InputError([Problem(f"theme template '{exc.name}' not found",
                                      expected=f"a file in {', '.join(str(p) for p in self.search)}")]) from None
        except jinja2.UndefinedError as exc:
            raise InputError([Problem(f"theme template '{template}': {exc.message}")]) from None

    def digest(self) -> str:
        """Hash of every file that can change how pages look."""
        h = hashlib.sha256()
        for base in [*self.search, self.folder / "static", self.root / "static"]:
            if base.is_dir():
                for file in sorted(p for p in base.rglob("*") if p.is_file() and not is_editor_file(p.name)):
                    h.update(file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
        return h.hexdigest()

    def assets(self) -> list[Output]:
        files: dict[str, bytes] = {}
        for base in (self.folder / "static", self.root / "static"):  # later wins: project overrides theme
            if base.is_dir():
                for file in sorted(p for p in base.rglob("*") if p.is_file() and not is_editor_file(p.name)):
                    files["assets/" + file.relative_to(base).as_posix()] = file.read_bytes()
        return [Output(path, "asset", data) for path, data in sorted(files.items())]

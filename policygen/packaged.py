"""The clause library and the default theme that ship inside policygen, and a project's overrides of them.

They are the defaults every project builds from, versioned with policygen: a
project keeps only the clauses, partials and templates it overrides, so an
upgrade brings the library's fixes to every project. In an installed package
they are policygen/library/ and policygen/themes/ (pyproject.toml packages the
repository's content/ and themes/ under those names); a source checkout or an
editable install reads the same folders beside policygen/.

Lookup, first match wins:
  clauses and partials   the project's content/, then the packaged library
                         (a tenant's own clauses come before both: clauses.tenant_clauses)
  theme templates        the project's layouts/, its themes/<name>/templates/, the packaged theme's
  theme static files     the project's static/, its themes/<name>/static/, the packaged theme's
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

from . import __version__
from .errors import InputError, Problem

DEFAULT_THEME = "default"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """policygen's own code and data: upgrading it re-renders everything (deps.py) and drops what the cache
    kept of an older one."""
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).parent
    for file in sorted(package.rglob("*")):
        if file.is_file() and file.suffix in {".py", ".yaml", ".json", ".html", ".css", ".md", ".txt"}:
            h.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()


def library_dir() -> Path:
    """The packaged clause library: one folder per document, and _partials/."""
    return _packaged("policygen.library", "content")


def packaged_theme(name: str) -> Path | None:
    """The packaged theme called *name*, or None when policygen ships no such theme."""
    if name != DEFAULT_THEME:
        return None
    folder = _packaged("policygen.themes", "themes") / name
    return folder if (folder / "templates").is_dir() else None


def library_folders(content: Path, packaged: Path | None = None) -> tuple[Path, ...]:
    """Where clauses and partials are looked up, first match wins: the project's content/, then the library
    policygen ships (*packaged* stands in for it, e.g. an older library to compare with).

    A content/ that is the packaged library itself (this repository's example project) overrides nothing.
    """
    library = (packaged or library_dir()).resolve()
    if not content.is_dir() or content.resolve() in {library, library_dir().resolve()}:
        return (library,)
    return (content, library)


def theme_folders(root: Path, name: str) -> tuple[Path, ...]:
    """The folders of theme *name*, first match wins: the project's themes/<name>/, then policygen's own theme
    of that name. Empty when neither has templates (an unknown theme)."""
    own = root / "themes" / name
    shipped = packaged_theme(name)
    folders = [f for f in (own, shipped) if f is not None and f.is_dir()]
    if shipped is not None and own.is_dir() and own.resolve() == shipped.resolve():
        folders = [shipped]
    return tuple(folders) if any((f / "templates").is_dir() for f in folders) else ()


def known_themes(root: Path) -> list[str]:
    """The theme names a project can choose: its own themes/ with templates, and policygen's."""
    own = {p.name for p in (root / "themes").glob("*") if (p / "templates").is_dir()}
    return sorted(own | {DEFAULT_THEME})


def _packaged(package: str, folder: str) -> Path:
    # The data folders have no __init__.py (they are content/ and themes/ in the repository), so the package
    # is a namespace: its folder is its one search location.
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    # No such package: a source checkout, whose folders are beside the policygen package.
    found = Path(locations[0]) if locations else Path(__file__).resolve().parent.parent / folder
    if not found.is_dir():  # a zipped or broken install: the loaders read real folders
        raise InputError(
            [
                Problem(
                    f"policygen's own {folder} folder is missing from the installation",
                    file=found,
                    suggestion="reinstall policygen (pip install --force-reinstall policygen)",
                )
            ]
        )
    return found

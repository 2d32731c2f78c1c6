"""The tenant.yaml reference page of the documentation, generated from the facts model so it cannot drift.

python -m policygen.reference     rewrite the section between the markers in docs/tenant-reference.md
"""

from __future__ import annotations

import sys
import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .durations import Duration
from .facts import Tenant

START, END = "<!-- facts-reference -->", "<!-- /facts-reference -->"
# The page that holds the reference, from the repository root; tests/test_cli.py keeps it current.
PAGE = Path("docs") / "tenant-reference.md"


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin in (Union, types.UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if getattr(annotation, "__metadata__", None) is not None:  # Annotated[str, validator]
        base = _type(get_args(annotation)[0])
        checks = [getattr(m, "func", None) for m in annotation.__metadata__]
        names = [c.__name__.removeprefix("_check_") for c in checks if c is not None]
        return names[0] if names else base
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if annotation is Duration:
        return "duration"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {str: "text", int: "number", bool: "yes/no", float: "number"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    seen.setdefault(model.__name__, model)
    for field in model.model_fields.values():
        for inner in _walk(field.annotation):
            if inner.__name__ not in seen:
                _models(inner, seen)


def _walk(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_walk(arg))
    return found


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == []:
        return "none"
    return f"`{value}`"


def markdown() -> str:
    models: dict[str, type[BaseModel]] = {}
    _models(Tenant, models)
    lines = [START, ""]
    for name, model in models.items():
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        lines += [f"## {name}", ""]
        if doc and not doc.startswith("!!!"):
            lines += [doc, ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for key, field in model.model_fields.items():
            meaning = (field.description or "").replace("|", "\\|")
            lines.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {meaning} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def rewrite(page: Path) -> bool:
    """Put the generated reference between the markers; True if the file changed."""
    text = page.read_text(encoding="utf-8")
    start = text.index(START)
    end = text.index(END) + len(END) if END in text else start + len(START)
    new = text[:start] + markdown() + text[end:]
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PAGE
    if START not in target.read_text(encoding="utf-8"):  # e.g. README.md, which held the reference until it moved
        sys.exit(f"error: {target} has no {START} marker; the reference lives in {PAGE}")
    print(f"{target} updated" if rewrite(target) else f"{target} already up to date")

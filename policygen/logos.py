"""Tenant logos: published byte for byte, so only images that cannot run anything are accepted.

A logo is a file in the tenant's folder, copied to `<tenant>/assets/` on the site's own origin,
where a browser opening it directly would run any script in it. So:

* PNG, JPEG, WebP and GIF are accepted when their first bytes say they are that format (the
  extension alone is not trusted: the site serves the file by its extension);
* SVG is accepted only when a real XML parser finds nothing in it but drawing: every element is on
  an allow-list of SVG's shapes, text, gradients, clipping, masks and filters; there is no DOCTYPE
  (so no entities), no processing instruction, no event handler attribute, no link or reference
  (`href`, `xlink:href`) other than to a `#fragment` of the file itself, no `url(...)` other than
  `url(#fragment)`, no `@import` or CSS escape, and no element from another XML vocabulary (such as
  XHTML's `script`) except the inert metadata editors write. An SVG that fails is refused, never
  rewritten: the site shows the organisation's logo as it is, or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from xml.parsers import expat

MAX_LOGO_BYTES = 2 * 1024 * 1024
RASTER_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WebP", ".gif": "GIF"}
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
# What drawing programs store beside the drawing; browsers neither render nor run it.
EDITOR_NAMESPACES = frozenset(
    {
        "http://www.inkscape.org/namespaces/inkscape",
        "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "http://purl.org/dc/elements/1.1/",
        "http://creativecommons.org/ns#",
        "http://ns.adobe.com/AdobeIllustrator/10.0/",
        "http://www.bohemiancoding.com/sketch/ns",
    }
)
SVG_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "metadata",
        "symbol",
        "use",
        "switch",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "pattern",
        "clipPath",
        "mask",
        "marker",
        "style",
        "filter",
        "feBlend",
        "feColorMatrix",
        "feComponentTransfer",
        "feComposite",
        "feConvolveMatrix",
        "feDiffuseLighting",
        "feDisplacementMap",
        "feDistantLight",
        "feDropShadow",
        "feFlood",
        "feFuncA",
        "feFuncB",
        "feFuncG",
        "feFuncR",
        "feGaussianBlur",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "feOffset",
        "fePointLight",
        "feSpecularLighting",
        "feSpotLight",
        "feTile",
        "feTurbulence",
    }
)
LOGO_EXPECTED = (
    "a PNG, JPEG, WebP or GIF image, or an SVG that only draws (no script, event handlers, links or "
    "references outside the file, foreignObject, animation or DOCTYPE)"
)
HINT = "export the logo as PNG, or save it as plain SVG without it"
# A CSS reference to anything but a fragment of the file: url(x), url("x"), image-set("x"), src(x).
_OUTSIDE = re.compile(r"""(?:url|src)\s*\((?!\s*['"]?\s*#)|image-set\s*\(""", re.IGNORECASE)


@dataclass(frozen=True)
class LogoRefusal:
    """Why a logo file cannot be published, and what to do instead."""

    reason: str
    hint: str = HINT
    line: int | None = None  # in an SVG file


def logo_kind_refusal(name: str) -> LogoRefusal | None:
    """None when a file called *name* may be a logo, by its extension (before reading it)."""
    suffix = PurePath(name).suffix.lower()
    if suffix != ".svg" and suffix not in RASTER_SUFFIXES:
        return LogoRefusal("is not an image", "use a .png, .jpg, .webp, .gif or .svg file")
    return None


def too_large(size: int) -> LogoRefusal:
    return LogoRefusal(f"is {size} bytes, more than {MAX_LOGO_BYTES} (2 MiB)", "use a smaller image")


def check_logo(name: str, data: bytes) -> LogoRefusal | None:
    """None when *data*, the bytes of a file called *name*, is a logo the site may publish as it is.
    The caller reads the file (inputs.read_bytes: regular files only, at most MAX_LOGO_BYTES)."""
    if (refused := logo_kind_refusal(name)) is not None:
        return refused
    if len(data) > MAX_LOGO_BYTES:
        return too_large(len(data))
    suffix = PurePath(name).suffix.lower()
    if suffix == ".svg":
        return _check_svg(data)
    kind = RASTER_SUFFIXES[suffix]
    if not _looks_like(kind, data):
        return LogoRefusal(
            f"is not a {kind} image (its first bytes say otherwise)",
            f"save the logo as a real {kind} file, or give it the extension of its format",
        )
    return None


def _looks_like(kind: str, data: bytes) -> bool:
    if kind == "PNG":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "JPEG":
        return data.startswith(b"\xff\xd8\xff")
    if kind == "WebP":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return data.startswith((b"GIF87a", b"GIF89a"))


class _Refused(Exception):
    def __init__(self, message: str, at: int = 0) -> None:
        super().__init__(message)
        self.at = at  # where in a piece of text (a <style>'s CSS) the refused part starts


def _check_svg(data: bytes) -> LogoRefusal | None:
    checker = _SvgChecker()
    try:
        checker.parse(data)
    except _Refused as exc:
        return LogoRefusal(str(exc), line=checker.refused_line(exc))
    except expat.ExpatError as exc:
        return LogoRefusal(
            f"is not well-formed XML: {expat.ErrorString(exc.code)}",
            "save the logo again from the drawing program, or export it as PNG",
            exc.lineno,
        )
    if not checker.root_seen:
        return LogoRefusal("has no <svg> element", "export the logo as PNG or as plain SVG")
    return None


class _SvgChecker:
    """Walks an SVG with expat, refusing at the first thing that is not plain drawing."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.buffer_text = True  # fewer, larger pieces of text (a <style> is still checked whole, in _end)
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._doctype
        self.parser.ProcessingInstructionHandler = self._instruction
        self.parser.StartElementHandler = self._element
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._text
        self.root_seen = False
        self._open: list[str] = []
        self._style: list[str] = []  # the open <style>'s text so far: a browser reads it as one
        self._text_seen = ""

    def refused_line(self, refused: _Refused) -> int:
        # Text arrives when it ends: count back to the line where the refused part of it is.
        return self.parser.CurrentLineNumber - self._text_seen[refused.at :].count("\n")

    def parse(self, data: bytes) -> None:
        self.parser.Parse(data, True)

    def _doctype(self, *_args: object) -> None:
        raise _Refused("a DOCTYPE is not allowed (it can declare entities)")

    def _instruction(self, target: str, _data: str) -> None:
        raise _Refused(f"the processing instruction <?{target} ...?> is not allowed (it can load a style sheet)")

    def _element(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if self._open and self._open[-1] == "style":
            raise _Refused(f"the element <{local}> inside <style> is not allowed (a style sheet is text only)")
        if not self.root_seen:
            if (namespace, local) != (SVG, "svg"):
                raise _Refused(f"the root element is <{local}>, not an <svg> in the SVG namespace")
            self.root_seen = True
        if namespace == SVG:
            if local not in SVG_ELEMENTS:
                raise _Refused(
                    f"the element <{local}> is not allowed (only shapes, text, gradients, clipping, "
                    "masks and filters are)"
                )
        elif namespace not in EDITOR_NAMESPACES:
            raise _Refused(f"the element <{local}> from {namespace or 'no namespace'} is not allowed")
        self._open.append(local)
        for key, value in attributes.items():
            self._attribute(local, key, value)

    def _end(self, _name: str) -> None:
        if self._open.pop() == "style":
            # Checked whole when it closes: expat may hand the text over in pieces, and a pattern must not
            # hide across a boundary between them.
            self._text_seen, self._style = "".join(self._style), []
            _check_css(self._text_seen, "the <style> element", whole=True)
            self._text_seen = ""

    def _attribute(self, element: str, key: str, value: str) -> None:
        namespace, _, local = key.rpartition(" ")
        shown = f"xlink:{local}" if namespace == XLINK else local
        if local.lower().startswith("on"):
            raise _Refused(f"the event handler {shown}= on <{element}> is not allowed")
        if namespace not in ("", XLINK, XML) and namespace not in EDITOR_NAMESPACES:
            raise _Refused(f"the attribute {local}= from {namespace} on <{element}> is not allowed")
        if local == "href" and not value.strip().startswith("#"):
            raise _Refused(f'{shown}="{value[:60]}" on <{element}> refers outside the file (only #fragment is allowed)')
        # Presentation attributes (fill, filter, mask, ...) take url(); style= is a whole CSS declaration list.
        _check_css(value, f"the attribute {shown}= on <{element}>", whole=local == "style")

    def _text(self, text: str) -> None:
        if self._open and self._open[-1] == "style":
            self._style.append(text)


def _check_css(value: str, where: str, whole: bool) -> None:
    found = _OUTSIDE.search(value)
    if found:
        shown = value[found.start() :].split(")", 1)[0].splitlines()[0][:60]
        raise _Refused(f"{where} refers outside the file with {shown}) (only url(#fragment) is allowed)", found.start())
    lowered = value.lower()
    for word in ("javascript:", *(("@import", "\\", "expression(") if whole else ())):
        if word in lowered:
            raise _Refused(
                f"{where} holds {word} (no @import, javascript:, expression( or CSS escape is allowed)",
                lowered.index(word),
            )

"""Tenant logos are published byte for byte on the site's origin, so a logo that could run or load
anything is refused: raster images are checked by their first bytes, SVG by an allow-list walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from policygen.project import logo_refusal

PLAIN_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<!-- drawn in Inkscape -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="64" height="64" viewBox="0 0 64 64">
  <title>Acme</title>
  <metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>
  <defs>
    <linearGradient id="g"><stop offset="0" stop-color="#036"/><stop offset="1" stop-color="#09c"/></linearGradient>
    <clipPath id="c"><circle cx="32" cy="32" r="30"/></clipPath>
    <filter id="f"><feGaussianBlur stdDeviation="1"/></filter>
    <path id="p" d="M4 4h56v56H4z"/>
  </defs>
  <style>.mark { fill: url(#g); stroke: #fff }</style>
  <g inkscape:label="Layer 1" clip-path="url(#c)" filter="url( '#f' )">
    <use xlink:href="#p" class="mark"/>
    <use href="#p" style="fill: url(#g); opacity: .5"/>
    <text x="8" y="40" font-family="sans-serif">ACME &amp; Co</text>
  </g>
</svg>
"""

REFUSED_SVG = {
    "script": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "event handler in capitals": '<svg xmlns="http://www.w3.org/2000/svg"><rect ONCLICK="alert(1)"/></svg>',
    "link to javascript": '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
    "use of another file": '<svg xmlns="http://www.w3.org/2000/svg"><use href="other.svg#a"/></svg>',
    "image from a data URL": '<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/svg+xml,x"/></svg>',
    "foreignObject": '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
    "animation of an attribute": '<svg xmlns="http://www.w3.org/2000/svg"><animate attributeName="href"/></svg>',
    "style attribute with url": '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://x.example/a)"/></svg>',
    "presentation attribute with url": '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(//x.example/a#b)"/></svg>',
    "quoted url in style": '<svg xmlns="http://www.w3.org/2000/svg"><style>a{b:url( "x.png" )}</style></svg>',
    "image-set in style": '<svg xmlns="http://www.w3.org/2000/svg"><style>a{b:image-set("x.png" 1x)}</style></svg>',
    "@import in style": '<svg xmlns="http://www.w3.org/2000/svg"><style>@import "x.css";</style></svg>',
    "CSS escape hiding url": '<svg xmlns="http://www.w3.org/2000/svg"><style>a{b:u\\72l(x.png)}</style></svg>',
    "style sheet instruction": '<?xml-stylesheet href="https://x.example/a.css"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "DOCTYPE": '<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="http://www.w3.org/2000/svg"/>',
    "entity without a DOCTYPE": '<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>',
    "XHTML script": '<svg xmlns="http://www.w3.org/2000/svg"><script xmlns="http://www.w3.org/1999/xhtml">x</script></svg>',
    "attribute of an unknown vocabulary": '<svg xmlns="http://www.w3.org/2000/svg" xmlns:ev="http://www.w3.org/2001/xml-events"'
    ' ev:event="click"/>',
    "HTML page named .svg": "<html><body><script>alert(1)</script></body></html>",
    "SVG without its namespace": "<svg><script>alert(1)</script></svg>",
    "not XML": '<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>',
}

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
RASTER = {
    "logo.png": PNG,
    "logo.jpg": b"\xff\xd8\xff\xe0" + b"\0" * 32,
    "logo.JPEG": b"\xff\xd8\xff\xdb" + b"\0" * 8,
    "logo.webp": b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8,
    "logo.gif": b"GIF89a" + b"\0" * 8,
}


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_an_svg_that_only_draws_is_accepted(tmp_path: Path) -> None:
    assert logo_refusal(write(tmp_path, "logo.svg", PLAIN_SVG)) is None


@pytest.mark.parametrize("what", list(REFUSED_SVG))
def test_an_svg_that_could_run_or_load_anything_is_refused(tmp_path: Path, what: str) -> None:
    refused = logo_refusal(write(tmp_path, "logo.svg", REFUSED_SVG[what]))
    assert refused is not None, what
    assert refused.line == 1 and refused.hint


def test_entities_are_refused_before_any_is_expanded(tmp_path: Path) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    refused = logo_refusal(
        write(
            tmp_path,
            "logo.svg",
            f'<!DOCTYPE svg [{laughs}]><svg xmlns="http://www.w3.org/2000/svg"><text>&l9;</text></svg>',
        )
    )
    assert refused is not None and "DOCTYPE" in refused.reason


@pytest.mark.parametrize("name", list(RASTER))
def test_raster_images_are_accepted_by_their_first_bytes(tmp_path: Path, name: str) -> None:
    assert logo_refusal(write(tmp_path, name, RASTER[name])) is None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("logo.png", b"\xff\xd8\xff\xe0 a JPEG"),
        ("logo.jpg", PNG),
        ("logo.png", REFUSED_SVG["script"]),
        ("logo.webp", b"RIFF\0\0\0\0WAVE"),
        ("logo.gif", b"<svg onload=alert(1)>"),
    ],
)
def test_a_raster_extension_on_other_bytes_is_refused(tmp_path: Path, name: str, data: bytes | str) -> None:
    refused = logo_refusal(write(tmp_path, name, data))
    assert refused is not None and "first bytes" in refused.reason


def test_a_logo_too_large_to_be_a_logo_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    with path.open("wb") as f:
        f.write(PNG)
        f.truncate(3 * 1024 * 1024)
    refused = logo_refusal(path)
    assert refused is not None and "more than" in refused.reason


@pytest.mark.parametrize(
    "style",
    [
        '@im<g/>port "https://evil.example/x.css";',  # an element splitting the text
        "rect{fill:ur<desc/>l(https://evil.example/t.png)}",
        "/*" + "x" * 9000 + '*/ @import "https://evil.example/x.css";',  # past expat's text buffer
    ],
)
def test_a_style_sheet_is_checked_whole_however_its_text_arrives(tmp_path: Path, style: str) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><style>{style}</style><rect width="1" height="1"/></svg>'
    assert logo_refusal(write(tmp_path, "logo.svg", svg)) is not None

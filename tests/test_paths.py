"""paths: where every output goes and how outputs link to each other, from one module."""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policygen.paths import (
    DocumentPaths,
    SortedNames,
    TenantPaths,
    absolute,
    document_page,
    href,
    in_folder_order,
    rebase,
    relative,
)

DAY = dt.date(2026, 3, 1)


def test_a_folder_page_is_addressed_without_index_html_when_absolute() -> None:
    assert absolute("https://x.example/", "t/doc/index.html") == "https://x.example/t/doc/"
    assert absolute("https://x.example", "index.html") == "https://x.example/"
    assert absolute("https://x.example/", "t/doc/feed.xml") == "https://x.example/t/doc/feed.xml"


def test_without_a_base_url_links_are_relative_to_the_linking_file() -> None:
    doc = DocumentPaths("t", "doc")
    assert href(doc.archive(DAY), doc.history, None) == "../2026-03-01/index.html"
    assert href(doc.stable, doc.pair(DAY, dt.date(2026, 1, 1)).banner, None) == "../../index.html"


def test_every_page_of_a_document_lies_in_its_folder() -> None:
    doc = TenantPaths("t").document("doc")
    pair = doc.pair(DAY, dt.date(2026, 1, 1))
    pages = [doc.stable, doc.history, doc.draft, doc.feed, doc.archive(DAY), doc.json(DAY), doc.redline(DAY)]
    pages += [pair.redline, pair.banner, pair.email_html, pair.email_text, doc.banner(DAY)]
    assert all(p.startswith(doc.folder + "/") for p in pages)
    assert doc.redline(DAY) == pair.redline and doc.banner(DAY) == pair.banner


def test_a_stable_or_draft_page_is_read_back_as_its_document() -> None:
    doc = DocumentPaths("t", "doc")
    assert document_page(doc.stable) == (doc, "stable")
    assert document_page(doc.draft) == (doc, "draft")
    for other in (doc.history, doc.archive(DAY), doc.feed, "index.html", "t/index.html", "t/apps/a/policy.html"):
        assert document_page(other) is None, other


def test_a_relative_link_is_rebased_to_lead_to_the_same_file() -> None:
    assert rebase("../other/index.html", "t/doc/index.html", "t/apps/app/policy.html") == "../../other/index.html"


_SEGMENTS = st.sampled_from(["a", "b", "tenant", "index.html", ".", "..", "", "...", "..x"])


@pytest.fixture(scope="module")
def working_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder named like the generated segments (.../a/b), so that a link that climbs above the
    site's root and back down through the working folder's own names must be answered as relpath does."""
    folder = tmp_path_factory.mktemp("cwd") / "a" / "b"
    folder.mkdir(parents=True)
    return folder


@given(
    st.lists(_SEGMENTS, max_size=6).map("/".join),
    st.lists(_SEGMENTS, max_size=6).map("/".join),
    st.sampled_from(["", "/"]),
)
def test_a_link_between_two_site_paths_is_what_posix_relpath_gives(
    working_folder: Path, path: str, origin: str, lead: str
) -> None:
    # relative() works the link out from the paths' text; the file system's answer is the reference,
    # for paths with '.', '..', empty segments and absolute paths too (and its error for an empty path).
    path = lead + path
    with contextlib.chdir(working_folder):
        try:
            expected: str | None = posixpath.relpath(path, posixpath.dirname(origin) or ".")
        except ValueError:
            expected = None
        if expected is None:
            with pytest.raises(ValueError):
                relative(path, origin)
        else:
            assert relative(path, origin) == expected


@given(st.lists(st.text(alphabet="ab-.0_", min_size=1, max_size=6), unique=True))
def test_tenants_in_slug_order_come_out_in_the_order_of_their_folders_paths(slugs: list[str]) -> None:
    # "acme-uk" sorts after "acme" as a name, before it as a folder: "acme-uk/" < "acme/".
    assert list(in_folder_order(sorted(slugs), str)) == sorted(slugs, key=lambda s: s + "/")
    assert list(in_folder_order(["acme", "acme-uk", "acme-uk-2", "acme0", "acmf"], str)) == [
        "acme-uk-2",
        "acme-uk",
        "acme",
        "acme0",
        "acmf",
    ]


@given(st.lists(st.text(max_size=5), unique=True), st.lists(st.text(max_size=5)))
def test_sorted_names_hold_exactly_the_names_listed(names: list[str], asked: list[str]) -> None:
    held = SortedNames(sorted(names))
    for name in [*names, *asked]:
        assert (name in held) == (name in set(names))
    assert 1 not in held  # not a name

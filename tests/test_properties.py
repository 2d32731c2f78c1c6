"""Property-based tests (hypothesis): the YAML loader, facts as text, durations."""

from __future__ import annotations

import datetime as dt
import math
import string
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import REPO
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from policygen import yamlfile
from policygen.clauses import read_clause
from policygen.durations import Duration
from policygen.errors import InputError
from policygen.facts import Tenant, visible
from policygen.render import ClauseRenderer, fact_context
from policygen.yamlfile import format_path, load, load_fast, packaged_data

# --- the YAML loader --------------------------------------------------------------------------

# Text as people paste it: any characters but surrogates and the C0/C1 controls YAML cannot carry.
text = st.text(st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"), max_size=40)
keys = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
scalars = st.one_of(
    text,
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.none(),
    st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
documents = st.dictionaries(
    keys,
    st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=20,
    ),
    max_size=6,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += paths(value, (*prefix, i))
    return out


def write(tmp: Path, text_: str) -> Path:
    file = tmp / "doc.yaml"
    file.write_text(text_, encoding="utf-8")
    return file


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents)
@pytest.mark.slow
def test_the_loader_reads_back_what_a_yaml_dumper_wrote(tmp_path: Path, data: dict[str, Any]) -> None:
    file = write(tmp_path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    located = load(file)
    assert (located.data or {}) == data
    assert (load_fast(file).data or {}) == data
    for path in paths(data)[1:]:
        line, column = located.where(path)
        assert line is not None and column is not None, format_path(path)


def typed(data: Any) -> Any:
    """*data* with every value's type beside it: 1, 1.0 and True are equal in Python, not in a tenant file."""
    if isinstance(data, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in data.items()])
    if isinstance(data, list):
        return ("list", [typed(v) for v in data])
    return (type(data).__name__, str(data))


# Plain values as people type them, each of which YAML 1.1 reads as text, a number, a date, true/false or null.
spellings = st.sampled_from(
    ["yes", "No", "on", "OFF", "true", "False", "null", "~", "0", "-0", "+12", "017", "0x1f", "0o17", "1_000",
     "1:30", "1.5", "1e3", "-.inf", ".5", "2026-01-01", "2026-01-01 10:00:00", "2026-1-1", "'quoted'", '"1"',
     "plain text", "a: b", "#hash", "x #comment", "'it''s'", '"tab\\tx"', "é ü 中文", "<b>", "{{ x }}"]
)  # fmt: skip
hand_written = st.recursive(
    spellings,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "b", "name", "id", "yes", "1", "2026-01-01", "null"]), inner, min_size=1, max_size=3
        ),
    ),
    max_leaves=12,
)


def as_yaml(value: Any, indent: str = "") -> str:
    """*value* written in block style, the way tenant files are."""
    if isinstance(value, dict):
        return "".join(
            f"{indent}{key}:{' ' + item if isinstance(item, str) else chr(10) + as_yaml(item, indent + '  ')}\n".replace(
                "\n\n", "\n"
            )
            for key, item in value.items()
        )
    if isinstance(value, list):
        return "".join(
            f"{indent}-{' ' + item if isinstance(item, str) else chr(10) + as_yaml(item, indent + '  ')}\n".replace(
                "\n\n", "\n"
            )
            for item in value
        )
    return f"{indent}{value}\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents, st.sampled_from(["block", "flow", "indented"]))
@pytest.mark.slow
def test_a_top_level_key_is_located_without_the_located_parse_where_the_parse_puts_it(
    tmp_path: Path, data: dict[str, Any], style: str
) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=style == "flow")
    if style == "indented":  # a top-level mapping need not start at the line's start
        text = "".join(f"  {line}" for line in text.splitlines(keepends=True))
    file = write(tmp_path, text)
    located = load(file)
    for key in data:
        fast = load_fast(file)  # positions still to be found: the first ask may take the short way
        assert fast.where((key,)) == located.where((key,)), key


def test_a_key_the_document_lacks_is_located_by_the_parse_even_where_a_quoted_line_looks_like_it(
    tmp_path: Path,
) -> None:
    file = write(tmp_path, 'name: "one\ndates: inside the quoted text"\nother: 2\n')
    fast = load_fast(file)
    assert fast.where(("dates",)) == load(file).where(("dates",))  # not line 2, which is the name's text
    assert load_fast(file).where(("other",)) == (3, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["top", "facts", "x", "on", "3"]), hand_written, min_size=1, max_size=3))
def test_the_fast_loader_builds_what_the_located_loader_builds_types_included(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    file = write(tmp_path, as_yaml(document))
    try:
        careful = load(file)
    except InputError:
        return  # the fast path sends every file with an error to the located loader
    assert typed(load_fast(file).data) == typed(careful.data)


def test_policygens_own_data_files_are_read_by_the_fast_loader_as_the_located_loader_reads_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = REPO / "policygen" / "data"
    # Read as data (packaged_data); the starter project and the new tenant's skeleton are copied as text.
    files = sorted(f for f in folder.rglob("*.yaml") if "starter" not in f.parts and f.name != "tenant-skeleton.yaml")
    located = {file: load(file).data for file in files}
    for file in files:
        assert typed(packaged_data(*file.relative_to(folder).parts)) == typed(located[file]), file
    # What every build reads (each language's words, the stores' vocabulary) takes the fast path, no positions
    # kept; a file that may hold an anchor or a tag (a checklist's '*' in text) is read by the located loader.
    plain = [file for file in files if not yamlfile._careful(file.read_text(encoding="utf-8"))]
    assert {"en.yaml", "fr.yaml", "store_labels.yaml"} <= {file.name for file in plain}

    def no_positions(*_: object, **__: object) -> None:
        raise AssertionError("read by the located loader")

    monkeypatch.setattr(yamlfile, "load", no_positions)
    for file in plain:
        assert typed(packaged_data(*file.relative_to(folder).parts)) == typed(located[file]), file


# What stands around an anchor, an alias, a tag or a merge key, and what does not.
token_parts = st.text(alphabet="&*!<:-[{,]}x \t\n\u00a0\u2028#'\"", max_size=40)


@settings(max_examples=2000)
@given(token_parts)
@example("&")
@example("&x")
@example("a &x")
@example("a\u00a0*x")  # white space beyond ASCII
@example("<<  :")
def test_a_file_is_sent_to_the_careful_loader_exactly_when_the_pattern_finds_a_mark_in_it(text: str) -> None:
    assert yamlfile._careful(text) == (yamlfile._CAREFUL.search(text) is not None)


@pytest.mark.parametrize("tail", ["", " &x"])
def test_a_file_with_many_marks_is_searched_by_the_pattern_alike(tail: str) -> None:
    text = "name: Fish & Chips\n" * (yamlfile._MARKS_LOOKED_AT + 1) + "last:" + tail
    assert yamlfile._careful(text) == (tail != "") == (yamlfile._CAREFUL.search(text) is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(keys, scalars, min_size=1, max_size=6), st.data())
def test_a_repeated_key_is_always_reported_at_its_second_line(
    tmp_path: Path, data: dict[str, Any], draw: st.DataObject
) -> None:
    key = draw.draw(st.sampled_from(sorted(data)))
    first = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6)
    again = yaml.safe_dump({key: "again"}, allow_unicode=True, width=10**6)
    file = write(tmp_path, first + again)
    with pytest.raises(InputError) as caught:
        load(file)
    duplicates = [p for p in caught.value.problems if p.message.startswith("duplicate key")]
    assert len(duplicates) == 1
    assert duplicates[0].line == first.count("\n") + 1
    with pytest.raises(InputError):
        load_fast(file)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.sampled_from(["a: [", "a: {", "- "]))
def test_nesting_past_the_limit_is_an_error_never_a_crash(multiple: int, opener: str) -> None:
    depth = 64 * multiple + 1
    body = (
        "a: " + "[" * depth + "]" * depth
        if opener == "a: ["
        else ("a: " + "{b: " * depth + "1" + "}" * depth if opener == "a: {" else "- " * depth + "x")
    )
    with pytest.raises(InputError) as caught:
        load(Path("deep.yaml"), body + "\n")
    assert "nested deeper than 64 levels" in caught.value.problems[0].message


# --- facts stay text -----------------------------------------------------------------------------

CLAUSE = """---
id: probe
title: Probe
order: 1
---
The name is {{ organisation.display_name }}.

- {{ organisation.display_name }}
- {{ [organisation.display_name, organisation.legal_name]|join(", ", " and ") }}

| Column |
|---|
| {{ organisation.display_name|cell }} |

See {{ organisation.website|url(organisation.display_name) }}.

### {{ organisation.display_name }}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> tuple[ClauseRenderer, Any, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("probe")
    file = folder / "probe.md"
    file.write_text(CLAUSE, encoding="utf-8")
    facts = yaml.safe_load((REPO / "tenants/ims-pro/tenant.yaml").read_text(encoding="utf-8"))
    facts["organisation"]["website"] = "https://acme.example/"
    return ClauseRenderer(REPO / "content", raw_html=False), read_clause(file), facts


def rendered(probe: tuple[ClauseRenderer, Any, dict[str, Any]], name: str) -> BeautifulSoup:
    renderer, clause, facts = probe
    facts = {**facts, "organisation": {**facts["organisation"], "display_name": name}}
    tenant = Tenant.model_validate(facts)
    html = renderer.render(clause, fact_context(tenant), tenant, "probe", []).html
    return BeautifulSoup(html, "html.parser")


def markup(soup: BeautifulSoup) -> list[tuple[str, tuple[str, ...]]]:
    return [(el.name, tuple(sorted(el.attrs))) for el in soup.find_all(True)]


# Characters that mean something to HTML, Markdown or Jinja, plus anything else.
hostile_text = st.text(
    st.one_of(st.sampled_from(list("<>&\"'`*_[]()!#|\\{}%~=-+.:/\n")), st.characters(exclude_categories=("Cs", "Cc"))),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(hostile_text)
@example("<script>alert(1)</script>")
@example("[x](javascript:alert(1)) ![i](https://evil.example/x.png) {{ 7*7 }} {% raw %}")
@example("&amp; &lt;b&gt; &#x3C;i&#x3E;")
def test_any_text_in_a_fact_shows_literally_and_never_as_markup(
    probe: tuple[ClauseRenderer, Any, dict[str, Any]], name: str
) -> None:
    assume(visible(name))  # blank or invisible-only text is refused by the model
    soup = rendered(probe, name)
    assert markup(soup) == markup(rendered(probe, "Plain"))  # the same elements and attributes as plain text
    paragraph = soup.find("p")
    assert paragraph is not None
    assert paragraph.get_text() == f"The name is {name}."
    cell = soup.find("td")
    assert cell is not None and cell.get_text() == name  # '|' and line breaks in a fact do not break the table
    link = soup.find("a")
    assert link is not None and link["href"] == "https://acme.example/" and link.get_text() == name


# --- durations -----------------------------------------------------------------------------------

UNITS = {
    "hour": 1 / 24,
    "day": 1.0,
    "business day": 7 / 5,
    "working day": 7 / 5,
    "week": 7.0,
    "month": 365.25 / 12,
    "year": 365.25,
}
durations = st.tuples(st.integers(1, 500), st.sampled_from(sorted(UNITS)), st.booleans())


def spelled(amount: int, unit: str, plural: bool) -> str:
    return f"{amount} {unit}{'s' if plural or amount != 1 else ''}"


@settings(max_examples=300)
@given(durations, durations)
def test_duration_order_follows_the_number_of_days(a: tuple[int, str, bool], b: tuple[int, str, bool]) -> None:
    x, y = Duration.parse(spelled(*a)), Duration.parse(spelled(*b))
    days_x, days_y = a[0] * UNITS[a[1]], b[0] * UNITS[b[1]]
    expected = 0 if math.isclose(days_x, days_y, rel_tol=1e-9) else (1 if days_x > days_y else -1)
    assert x.compare(y) == expected
    assert y.compare(x) == -expected
    assert x.compare(x) == 0


@settings(max_examples=200)
@given(durations, durations, durations)
def test_duration_order_is_transitive(
    a: tuple[int, str, bool], b: tuple[int, str, bool], c: tuple[int, str, bool]
) -> None:
    x, y, z = (Duration.parse(spelled(*d)) for d in (a, b, c))
    if x.compare(y) <= 0 and y.compare(z) <= 0:
        assert x.compare(z) <= 0


@settings(max_examples=200)
@given(
    st.integers(1, 100),
    st.integers(0, 100),
    st.sampled_from(sorted(UNITS)),
    st.sampled_from(["", "up to ", "within "]),
    st.sampled_from([" ", "-", " to ", "–"]),
)
def test_a_range_compares_by_its_upper_bound(low: int, extra: int, unit: str, bound: str, dash: str) -> None:
    high = low + extra
    ranged = Duration.parse(f"{bound}{low}{dash}{high} {unit}s" if dash != " " else f"{bound}{high} {unit}s")
    assert ranged.compare(Duration.parse(f"{high} {unit}s")) == 0
    assert ranged.low_days <= ranged.high_days


@settings(max_examples=100)
@given(st.text(alphabet=string.ascii_letters + string.digits + " -", max_size=20))
def test_duration_parse_accepts_or_rejects_but_never_crashes(words: str) -> None:
    try:
        Duration.parse(words)
    except ValueError:
        pass


_SCALARS = st.one_of(
    st.sampled_from(["", "~", "null", "Null", "yes", "No", "on", "OFF", "y", "n", "true", "False", "<<", "=", ".inf"]),
    st.sampled_from(["0x1F", "0o17", "017", "1_000", "-1", "+2.5e3", "1:30", "2026-01-01", "2026-1-1 10:00:00Z"]),
    st.text(alphabet=st.sampled_from("0123456789-+.:_eExXoOtTyYnN~<=!&* abc"), max_size=12),
    st.text(max_size=8),
)


@settings(max_examples=2000, deadline=None)
@given(_SCALARS, st.booleans(), st.booleans())
def test_the_fast_loader_tags_each_value_as_pyyamls_resolver_does(value: str, plain: bool, quoted_plain: bool) -> None:
    fast, pyyaml = yamlfile._FastLoader(""), yaml.SafeLoader("")
    expected = pyyaml.resolve(yaml.ScalarNode, value, (plain, quoted_plain))
    assert fast.resolve(yaml.ScalarNode, value, (plain, quoted_plain)) == expected
    assert fast.resolve(yaml.ScalarNode, value, (plain, quoted_plain)) == expected  # told again, from what it kept
    for kind in (yaml.SequenceNode, yaml.MappingNode):
        assert fast.resolve(kind, None, (True, False)) == pyyaml.resolve(kind, None, (True, False))


def test_the_fast_loader_keeps_the_tags_of_a_bounded_number_of_short_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "_tags", {})
    fast = yamlfile._FastLoader("")
    for n in range(yamlfile.TAGS_KEPT + 100):
        assert fast.resolve(yaml.ScalarNode, str(n), (True, False)) == "tag:yaml.org,2002:int"
    long = "1" * (yamlfile.TAGS_LONGEST + 1)
    fast.resolve(yaml.ScalarNode, long, (True, False))
    assert len(yamlfile._tags) == yamlfile.TAGS_KEPT and long not in yamlfile._tags
    assert fast.resolve(yaml.ScalarNode, "yes", (True, False)) == "tag:yaml.org,2002:bool"  # past the bound: still told


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(" -?\n\r\tab:[{#\u2028"), max_size=60))
def test_the_longest_lead_is_the_longest_run_of_spaces_dashes_and_question_marks_starting_a_line(text: str) -> None:
    runs = [len(line) - len(line.lstrip(" ?-")) for line in text.split("\n")]
    assert yamlfile.longest_lead(text) == max(runs)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=6))
def test_a_text_is_visible_when_one_of_its_characters_is_neither_white_space_nor_an_invisible_kind(text: str) -> None:
    seen = [c for c in text if not c.isspace() and unicodedata.category(c) not in {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}]
    assert visible(text) == bool(seen)

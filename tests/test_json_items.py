"""A JSON object or array read from a file an item at a time (policygen/jsonitems.py) gives what json.loads gives,
wherever the file's pieces end, and refuses what json.loads would refuse, holding no more than a piece and
an item while it reads; and a value written as indented JSON text is what json.dumps writes."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policygen import jsonitems
from policygen.jsonitems import array_items, indented, last_at, object_items

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def items_of(file: Path, start: int = 0, end: int | None = None, piece: int = jsonitems.PIECE) -> list[tuple[str, Any]]:
    with file.open("rb") as f:
        return list(object_items(f, start, file.stat().st_size if end is None else end, piece))


@SETTINGS
@given(
    obj=st.dictionaries(st.text(max_size=6), values, max_size=8),
    indent=st.sampled_from([None, 0, 2, 4]),
    piece=st.integers(1, 64),
)
def test_an_objects_items_read_piece_by_piece_are_those_json_loads_reads(
    tmp_path: Path, obj: dict[str, Any], indent: int | None, piece: int
) -> None:
    file = tmp_path / "object.json"
    file.write_text(json.dumps(obj, indent=indent, ensure_ascii=False), encoding="utf-8")  # pieces end inside
    assert items_of(file, piece=piece) == list(json.loads(file.read_text(encoding="utf-8")).items())  # characters too


def test_a_number_cut_by_a_pieces_end_is_read_whole(tmp_path: Path) -> None:
    file = tmp_path / "object.json"
    file.write_text('{"a": 1234567, "b": true, "c": null}', encoding="utf-8")
    for piece in range(1, 12):
        assert items_of(file, piece=piece) == [("a", 1234567), ("b", True), ("c", None)]


def test_only_the_part_of_the_file_asked_for_is_read(tmp_path: Path) -> None:
    file = tmp_path / "manifest.json"
    file.write_text('{"files": [1, 2], "tenants": {"a": {"x": 1}}\n}\n', encoding="utf-8")
    start = file.read_text(encoding="utf-8").index("{", 1 + file.read_text(encoding="utf-8").index('"tenants"'))
    assert items_of(file, start, file.stat().st_size - 3, piece=3) == [("a", {"x": 1})]


@pytest.mark.parametrize(
    "text",
    [
        "",  # nothing
        "[1, 2]",  # not an object
        '{"a": 1',  # cut short
        '{"a": 1,}',  # a comma too many
        '{"a" 1}',  # no colon
        "{1: 2}",  # a key that is not a string
        '{"a": 1} {"b": 2}',  # more after the object
        '{"a": tru}',  # not JSON
        '{"a": "\\x"}',  # a bad escape
    ],
)
def test_what_is_not_one_json_object_is_refused(tmp_path: Path, text: str) -> None:
    file = tmp_path / "object.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        items_of(file, piece=4)


def test_bytes_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "object.json"
    file.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(UnicodeDecodeError):
        items_of(file)


def test_an_item_too_large_is_refused_before_it_is_whole_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonitems, "MAX_ITEM", 1000)
    file = tmp_path / "object.json"
    file.write_text('{"a": 1, "b": "' + "x" * 5000 + '"}', encoding="utf-8")
    read: list[str] = []
    with pytest.raises(ValueError, match="too large"), file.open("rb") as f:
        for key, _ in object_items(f, 0, file.stat().st_size, piece=100):
            read.append(key)
    assert read == ["a"]


@pytest.mark.parametrize("kind", ["object", "array"])
def test_a_large_object_or_array_is_read_holding_about_one_piece_and_one_item(tmp_path: Path, kind: str) -> None:
    if kind == "object":
        whole: Any = {
            f"tenant-{i:05d}": {"name": f"Tenant {i}", "documents": [{"id": "privacy-policy"}]} for i in range(20_000)
        }
        read: Any = object_items
    else:
        whole = [{"path": f"tenant-{i:05d}/index.html", "kind": "index", "bytes": i} for i in range(20_000)]
        read = array_items
    file = tmp_path / "whole.json"
    file.write_text(json.dumps(whole, indent=2), encoding="utf-8")  # about 2 MB
    count = 0
    tracemalloc.start()
    try:
        with file.open("rb") as f:
            for _ in read(f, 0, file.stat().st_size):
                count += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 4 * jsonitems.PIECE + 100_000, peak  # json.loads of the whole: over ten times the file


def array_of(file: Path, start: int = 0, end: int | None = None, piece: int = jsonitems.PIECE) -> list[Any]:
    with file.open("rb") as f:
        return list(array_items(f, start, file.stat().st_size if end is None else end, piece))


@SETTINGS
@given(items=st.lists(values, max_size=8), indent=st.sampled_from([None, 0, 2, 4]), piece=st.integers(1, 64))
def test_an_arrays_items_read_piece_by_piece_are_those_json_loads_reads(
    tmp_path: Path, items: list[Any], indent: int | None, piece: int
) -> None:
    file = tmp_path / "array.json"
    file.write_text(json.dumps(items, indent=indent, ensure_ascii=False), encoding="utf-8")
    assert array_of(file, piece=piece) == json.loads(file.read_text(encoding="utf-8"))


def test_only_the_array_asked_for_is_read(tmp_path: Path) -> None:
    file = tmp_path / "manifest.json"
    file.write_text('{"files": [1, {"a": [2]}, 3], "tenants": {}}', encoding="utf-8")
    text = file.read_text(encoding="utf-8")
    assert array_of(file, text.index("["), text.index(', "tenants"'), piece=2) == [1, {"a": [2]}, 3]


def test_an_array_followed_by_more_is_read_to_its_end_and_no_further(tmp_path: Path) -> None:
    file = tmp_path / "manifest.json"
    file.write_text('{"files": [1, [2, 3], "]"], "tenants": {"a": [}', encoding="utf-8")  # not JSON past the array
    start = file.read_text(encoding="utf-8").index("[")
    with file.open("rb") as f:
        assert list(array_items(f, start, file.stat().st_size, piece=2, followed=True)) == [1, [2, 3], "]"]
    with pytest.raises(ValueError, match="more after the array"), file.open("rb") as f:
        list(array_items(f, start, file.stat().st_size))


@pytest.mark.parametrize("text", ["", "{}", "[1, 2", "[1,]", "[1 2]", "[1] [2]", "[tru]", "[,]"])
def test_what_is_not_one_json_array_is_refused(tmp_path: Path, text: str) -> None:
    file = tmp_path / "array.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        array_of(file, piece=3)


@SETTINGS
@given(data=st.binary(max_size=300), text=st.binary(min_size=1, max_size=5), piece=st.integers(1, 40))
def test_the_last_place_a_text_begins_is_found_from_the_end_wherever_the_pieces_end(
    tmp_path: Path, data: bytes, text: bytes, piece: int
) -> None:
    file = tmp_path / "data"
    file.write_bytes(data + text * (len(data) % 2))  # sometimes at the very end
    whole = file.read_bytes()
    with file.open("rb") as f:
        found = last_at(f, text, piece)
    assert found == (whole.rfind(text) if text in whole else None)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"]) | st.sampled_from('"\\\n\t\x00\x1f\x7f\u2028')),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        | st.dictionaries(st.integers(), inner, max_size=2)
    ),
    max_leaves=20,
)


@settings(max_examples=1000, deadline=None)
@given(_JSON_VALUES, st.sampled_from(["\n", "\n  ", "\n    "]))
def test_indented_json_is_what_json_dumps_writes_nested_at_any_depth(value: object, newline: str) -> None:
    assert indented(value, newline) == json.dumps(value, indent=2, ensure_ascii=False).replace("\n", newline)

"""The tenant folders a rebuild kept whole, with their folders as it saw them (statcache.KeptFolders): held until the
output's stamp for every unchanged tenant, packed, and read by the stamp's walk as a mapping."""

from __future__ import annotations

import hashlib
import pickle
import sys
import tracemalloc

import pytest

from policygen.statcache import KeptFolders, SeenFolders


def seen(name: str, count: int = 3) -> SeenFolders:
    """Folders as a build saw them, told apart by *name*."""
    return SeenFolders(
        count, hashlib.blake2b(name.encode(), digest_size=16).digest(), hashlib.sha256(name.encode()).digest()
    )


NAMES = ["ims-pro", "example-fitness", "ihm-connect", "acme", "zeta-health"]  # as two processes place them


def test_the_folders_read_back_as_a_mapping_of_what_was_added_in_any_order() -> None:
    kept = KeptFolders()
    for i, name in enumerate(NAMES):
        kept.add(name, seen(name, i))
    expected = {name: seen(name, i) for i, name in enumerate(NAMES)}
    assert dict(kept) == expected and len(kept) == len(NAMES)
    assert all(kept[name] == expected[name] for name in NAMES)  # looked up after the names were sorted
    assert "acme" in kept and "other" not in kept and 3 not in kept
    with pytest.raises(KeyError):
        kept["other"]
    assert not KeptFolders() and kept


def test_folders_another_process_placed_join_with_their_names_as_the_builds_own() -> None:
    here, there = KeptFolders(), KeptFolders()
    here.add("ims-pro", seen("ims-pro"))
    for name in ("zeta-health", "acme"):
        there.add(name, seen(name))
    assert "acme" in there  # looked up: its names sorted, each digest where it was
    came = pickle.loads(pickle.dumps(there))  # as the process beside the build sends them (policygen/beside.py)
    own = sys.intern("".join(["ac", "me"]))  # the build's own string of the name (tenant_slugs interns them)
    here.extend(came)
    assert dict(here) == {name: seen(name) for name in ("ims-pro", "acme", "zeta-health")}
    assert next(name for name in here if name == "acme") is own


def test_only_the_digests_folders_seen_makes_are_kept_and_none_after_a_lookup() -> None:
    with pytest.raises(ValueError):
        KeptFolders().add("acme", SeenFolders(1, b"short", b"x" * 32))
    kept = KeptFolders()
    kept.add("zeta-health", seen("zeta-health"))
    kept.add("acme", seen("acme"))
    assert "acme" in kept
    with pytest.raises(RuntimeError):  # the stamp looks them up once every folder is placed
        kept.add("ims-pro", seen("ims-pro"))


def test_ten_thousand_folders_take_under_seventy_bytes_each_and_are_sorted_in_place() -> None:
    # A dict of SeenFolders took about 280 bytes a folder (tracemalloc), 28 MB for a hundred thousand tenants.
    names = [sys.intern(f"tenant-{i:05d}") for i in range(10_000)]  # the build's own, held anyway
    tracemalloc.start()
    try:
        kept = KeptFolders()
        for name in reversed(names):
            kept.add(name, seen(name))  # as a build sees them (folders_seen) and lets them go
        tracemalloc.reset_peak()
        assert names[0] in kept  # sorted when first looked up
        held, sorting = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 70 * len(names)
    assert sorting < held + 50 * len(names)  # an int a folder for a moment, not a second copy of each

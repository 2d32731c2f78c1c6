"""How long the fact differ takes on a large tenant (run: python benchmarks/diff_facts.py).

Builds a tenant with many data categories, purposes, recipients and retention
periods, changes about a tenth of them (and shuffles every list, which must be
no change), and times diff_facts both ways. Prints one line per size.
"""

from __future__ import annotations

import copy
import random
import time
from typing import Any

from policygen.factdiff import diff_facts
from policygen.facts import Tenant
from policygen.rules import load_rules


def tenant(n: int) -> dict[str, Any]:
    return {
        "organisation": {"legal_name": "Big Ltd", "display_name": "Big"},
        "data_categories": [
            {"id": f"c{i}", "name": f"Category {i}", "items": [f"item {i}.{j}" for j in range(5)], "retention": f"p{i}"}
            for i in range(n)
        ],
        "purposes": [
            {
                "id": f"u{i}",
                "name": f"Purpose {i}",
                "data": [f"c{i}", f"c{(i + 1) % n}"],
                "lawful_bases": [{"basis": "contract"}],
            }
            for i in range(n)
        ],
        "recipients": [
            {"id": f"r{i}", "category": f"Recipients {i}", "names": [f"Vendor {i}"], "purposes": [f"u{i}"]}
            for i in range(n // 2)
        ],
        "retention": {
            "summary": "As needed.",
            "periods": [{"id": f"p{i}", "data": f"Category {i}", "period": f"{12 + i % 24} months"} for i in range(n)],
        },
        "documents": [{"id": "privacy-policy"}],
        "dates": {"effective": "2026-01-01"},
    }


def main() -> None:
    rules = load_rules()
    rng = random.Random(4)
    for n in (100, 1000, 3000):
        before = tenant(n)
        after = copy.deepcopy(before)
        for key in ("data_categories", "purposes", "recipients"):
            rng.shuffle(after[key])
        for period in after["retention"]["periods"][: n // 10]:
            period["period"] = "5 years"
        for cat in after["data_categories"][: n // 10]:
            cat["items"].append("Precise location")
        old, new = Tenant.model_validate(before), Tenant.model_validate(after)
        start = time.perf_counter()
        findings = diff_facts(old, new, rules)
        back = diff_facts(new, old, rules)
        took = time.perf_counter() - start
        assert len(back) == len(findings)
        print(f"{n:>5} entries per list: {len(findings)} findings each way, {took / 2 * 1000:.0f} ms per diff")


if __name__ == "__main__":
    main()

"""Importing policygen for a build does only the work every build needs (issue 14: a one-tenant rebuild).

A pydantic model's validator is built when the model first validates, not when its module is imported;
the facts are validated through Tenant alone, whose validator holds its nested models'. Each test runs a
fresh interpreter: this process has imported and used everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each probe is a fresh interpreter

ROOT = Path(__file__).resolve().parent.parent
TENANT = ROOT / "tenants" / "example-fitness" / "tenant.yaml"

# Prints, as JSON, which of policygen's pydantic models have a validator, and whether law's transfer-tool
# file has been read; after `import policygen.engine`, then `setup` (Python statements).
_PROBE = """
import json, sys
import pydantic
import policygen.engine
from policygen import law
{setup}
def models(cls):
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("policygen."):
            yield sub
        yield from models(sub)
built = sorted({{f"{{m.__module__}}.{{m.__name__}}" for m in models(pydantic.BaseModel) if m.__pydantic_complete__}})
print(json.dumps({{"built": built, "transfer_tools_read": law.transfer_mechanisms.cache_info().currsize > 0}}))
"""


@dataclass(frozen=True)
class Probed:
    built: frozenset[str]  # policygen's pydantic models that have their validator, as module.Name
    transfer_tools_read: bool


def probe(setup: str = "") -> Probed:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE.format(setup=setup)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    found = json.loads(run.stdout)
    return Probed(frozenset(found["built"]), bool(found["transfer_tools_read"]))


@pytest.fixture(scope="module")
def after_import() -> Probed:
    return probe()


# Made at import as Tenant's defaults (`changes: Changes = Changes()`...), so built there.
_DEFAULTS = {f"policygen.facts.{name}" for name in ("Changes", "Sharing", "Signals", "Theme", "UsPrivacy")}


def test_importing_the_engine_builds_no_fact_model_validator_but_those_of_tenants_defaults(
    after_import: Probed,
) -> None:
    built = {name for name in after_import.built if name.startswith("policygen.facts.")}
    assert built == _DEFAULTS


def test_importing_the_engine_builds_no_validator_for_snapshots_rules_files_or_translation_heads(
    after_import: Probed,
) -> None:
    built = after_import.built
    for module in ("versions", "translation_files", "fact_translations", "languages", "clauses", "project"):
        # FactOverlay's base, RootModel[dict[str, FactTranslation]], is a class pydantic makes, and builds, at once.
        assert not any(name.startswith(f"policygen.{module}.") and "RootModel[" not in name for name in built)
    assert "policygen.rules.RulesFile" not in built


def test_importing_the_engine_reads_no_transfer_tool_file(after_import: Probed) -> None:
    assert after_import.transfer_tools_read is False


def test_validating_a_tenant_builds_tenants_validator_and_none_of_its_nested_models() -> None:
    setup = f"from policygen.facts import read_tenant; from pathlib import Path; read_tenant(Path({str(TENANT)!r}))"
    built = {name for name in probe(setup).built if name.startswith("policygen.facts.")}
    assert built == _DEFAULTS | {"policygen.facts.Tenant"}

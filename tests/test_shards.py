"""Past one machine: `build --shard K/N` builds a stable part of the tenants, `merge` joins the parts into the site.

The merged site is the site one build writes, byte for byte; shards that cannot make that site are refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, copy_project
from helpers import edit

from policygen import shards
from policygen.cli import cli
from policygen.engine import build
from policygen.errors import InputError, UsageError
from policygen.scaffold import init
from policygen.shards import Shard, build_shard, merge, shard_of
from policygen.site import BuildOptions

TODAY = dt.date(2026, 11, 22)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    return sorted(path for path in a.keys() | b.keys() if a.get(path) != b.get(path))


def build_shards(project: Path, count: int, options: BuildOptions) -> list[Path]:
    folders = []
    for index in range(1, count + 1):
        folder = project / "shards" / f"part-{index}"
        build_shard(project, folder, options, Shard(index, count))
        folders.append(folder)
    return folders


def generated_project(root: Path, count: int) -> Path:
    """*count* variations of the example tenants (benchmarks/build_speed.py), with a base_url for the sitemap."""
    spec = importlib.util.spec_from_file_location("build_speed", REPO / "benchmarks" / "build_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_project(root, count)
    (root / "policygen.yaml").write_text("base_url: https://policies.example.org/\n", encoding="utf-8")
    return root


def refusal(project: Path, folders: list[Path], out: Path) -> list[str]:
    """The problems merge reports, formatted as the CLI prints them; and that it wrote nothing."""
    with pytest.raises(InputError) as caught:
        merge(project, folders, out)
    assert not out.exists()
    return [p.format(project) for p in caught.value.problems]


# --- the split ---------------------------------------------------------------------------------------------------


def test_a_tenant_is_in_the_shard_its_slug_alone_decides_as_the_readme_states() -> None:
    for slug in ("acme", "ims-pro", "a", "z" * 63):
        documented = int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big") % 7 + 1
        assert shard_of(slug, 7) == documented
        assert [Shard(k, 7).holds(slug) for k in range(1, 8)].count(True) == 1


def test_adding_tenants_never_moves_another_tenant_and_the_split_is_roughly_even() -> None:
    slugs = [f"tenant-{i}" for i in range(2000)]
    before = {s: shard_of(s, 4) for s in slugs[:1000]}
    after = {s: shard_of(s, 4) for s in slugs}
    assert all(after[s] == before[s] for s in before)
    sizes = [list(after.values()).count(k) for k in range(1, 5)]
    assert min(sizes) > 400 and max(sizes) < 600


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "1/0", "a/b", "-1/3", "1/3/5", "١/٣", ""])
def test_a_shard_is_written_k_of_n(text: str) -> None:
    with pytest.raises(ValueError, match="is not a shard: write K/N"):
        Shard.parse(text)
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"


# --- byte identity -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_three_shards_merged_are_byte_identical_to_one_build_of_the_example_project(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    runner = CliRunner()
    common = ["-C", str(project), "build", "--today", TODAY.isoformat(), "--drafts"]
    assert runner.invoke(cli, [*common, "--out", str(tmp_path / "whole")]).exit_code == 0
    for k in (1, 2, 3):
        done = runner.invoke(cli, [*common, "--shard", f"{k}/3", "--out", str(tmp_path / f"shard-{k}")])
        assert done.exit_code == 0, done.output
    done = runner.invoke(
        cli,
        [
            "-C",
            str(project),
            "merge",
            *(str(tmp_path / f"shard-{k}") for k in (1, 2, 3)),
            "--out",
            str(tmp_path / "merged"),
        ],
    )
    assert done.exit_code == 0, done.output
    whole = tree(tmp_path / "whole")
    assert "sitemap.xml" in whole and "feed.xml" in whole and len(whole) > 50
    assert differences(whole, tree(tmp_path / "merged")) == []


@pytest.mark.slow
def test_three_shards_merged_are_byte_identical_to_one_build_of_fifty_tenants(tmp_path: Path) -> None:
    project = generated_project(tmp_path / "project", 50)
    options = BuildOptions(today=TODAY)
    whole = build(project, tmp_path / "whole", options)
    folders = build_shards(project, 3, options)
    assert sorted(len(json.loads((f / "manifest.json").read_bytes())["tenants"]) for f in folders) != [0, 0, 50]
    merged = merge(project, folders, tmp_path / "merged")
    assert merged.tenants == whole.tenants and len(whole.tenants) == 50
    assert differences(tree(whole.out), tree(merged.out)) == []


EXAMPLES = ("example-fitness", "ihm-connect", "ims-global", "ims-pro")


def test_a_shard_holds_its_tenants_files_and_a_manifest_that_says_it_is_not_a_site(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    report = build_shard(project, tmp_path / "part", BuildOptions(today=TODAY), Shard(1, 3))
    data = json.loads((tmp_path / "part" / "manifest.json").read_bytes())
    assert data["shard"]["index"] == 1 and data["shard"]["count"] == 3 and data["shard"]["publishable"] is False
    assert "not a publishable site" in data["shard"]["note"]
    assert sorted(data["tenants"]) == report.build.tenants == sorted(s for s in EXAMPLES if shard_of(s, 3) == 1)
    on_disk = set(tree(tmp_path / "part")) - {"manifest.json"}
    assert on_disk == {f["path"] for f in data["files"]}
    assert all(path.split("/")[0] in data["tenants"] for path in on_disk)  # no site index, feed, sitemap or theme
    assert "not a publishable site" in report.summary()[1]


def test_a_shard_built_again_reuses_its_unchanged_tenants(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    first = build_shard(project, tmp_path / "part", BuildOptions(today=TODAY), Shard(1, 2))
    again = build_shard(project, tmp_path / "part", BuildOptions(today=TODAY), Shard(1, 2))
    assert first.build.rendered_tenants == first.build.tenants != []
    assert again.build.rendered_tenants == [] and again.build.reused_tenants == first.build.tenants


def test_shard_and_tenant_options_together_are_a_usage_error(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    with pytest.raises(UsageError, match="cannot be combined with --tenant"):
        build_shard(project, tmp_path / "part", BuildOptions(tenants=["ims-pro"], today=TODAY), Shard(1, 2))


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.fixture
def split(tmp_path: Path) -> tuple[Path, list[Path]]:
    """The example project and its two shards (2/2 holds example-fitness and ims-pro; 1/2 the other two)."""
    project = copy_project(tmp_path / "project")
    assert [shard_of(s, 2) for s in ("example-fitness", "ihm-connect", "ims-global", "ims-pro")] == [2, 1, 1, 2]
    return project, build_shards(project, 2, BuildOptions(today=TODAY))


def test_merge_refuses_a_tenant_changed_since_its_shard_was_built(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "legal_name: ", "legal_name: New ")
    assert refusal(project, folders, tmp_path / "site") == [
        "tenants/ims-pro: error: tenant 'ims-pro' changed since shard 2/2 (shards/part-2) was built\n"
        "    hint: build shard 2/2 again from this checkout"
    ]


def test_merge_refuses_shards_built_from_another_theme_or_library(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    style = next((project / "themes" / "default").rglob("*.css"))
    style.write_text(style.read_text(encoding="utf-8") + "\n/* edited */\n", encoding="utf-8")
    clause = next((project / "content").glob("privacy-policy/*.md"))
    clause.write_text(clause.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    problems = refusal(project, folders, tmp_path / "site")
    assert len(problems) == 2
    for k, problem in zip((1, 2), problems, strict=True):
        assert problem.startswith(
            f"shards/part-{k}/manifest.json: error: shard.inputs: shard {k}/2 was built from "
            "other inputs than this project's: the theme, the clause library (content/) differ"
        )


def test_merge_refuses_a_file_changed_since_its_shard_was_built(split: tuple[Path, list[Path]], tmp_path: Path) -> None:
    project, folders = split
    page = folders[1] / "ims-pro" / "privacy-policy" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<script>alert(1)</script></body>"))
    assert refusal(project, folders, tmp_path / "site") == [
        "shards/part-2/ims-pro/privacy-policy/index.html: error: differs from what shard 2/2's manifest.json records "
        "(changed, damaged or missing since the shard was built)\n    hint: build shard 2/2 again"
    ]


def rewrite_manifest(folder: Path, change: Any) -> None:
    data = json.loads((folder / "manifest.json").read_bytes())
    change(data)
    (folder / "manifest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_merge_refuses_a_tenant_listed_in_a_shard_it_does_not_belong_to(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    rewrite_manifest(
        folders[1],
        lambda data: data["tenants"].update(
            {"ims-global": json.loads((folders[0] / "manifest.json").read_bytes())["tenants"]["ims-global"]}
        ),
    )
    assert refusal(project, folders, tmp_path / "site") == [
        "shards/part-2/manifest.json: error: tenants.ims-global: tenant 'ims-global' belongs in shard 1/2, not 2/2\n"
        "    hint: build the shard again; its manifest.json was changed since"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "../../outside.html",
        "/etc/passwd",
        "ims-pro/../../outside.html",
        "index.html",
        "manifest.json",
        "ims-pro//x.html",
        "ims-global/index.html",
    ],
)
def test_merge_reads_and_writes_nothing_outside_a_shards_tenants_for_any_manifest_path(
    split: tuple[Path, list[Path]], tmp_path: Path, path: str
) -> None:
    project, folders = split
    (tmp_path / "outside.html").write_text("secret", encoding="utf-8")

    def point_elsewhere(data: dict[str, Any]) -> None:
        data["files"][0]["path"] = path

    rewrite_manifest(folders[1], point_elsewhere)
    problems = refusal(project, folders, tmp_path / "site")
    assert problems == [
        f"shards/part-2/manifest.json: error: files[0].path: '{path}' is not a file of this shard's "
        "tenants\n    expected: a path inside the folder of a tenant listed under 'tenants'\n"
        "    hint: build the shard again; its manifest.json was changed since"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.html", "project"]  # nothing created


def test_merge_refuses_a_file_that_links_out_of_its_shard(split: tuple[Path, list[Path]], tmp_path: Path) -> None:
    project, folders = split
    (tmp_path / "outside.html").write_text("secret", encoding="utf-8")
    page = folders[1] / "ims-pro" / "index.html"
    page.unlink()
    page.symlink_to(tmp_path / "outside.html")
    assert refusal(project, folders, tmp_path / "site")[0].startswith(
        "shards/part-2/ims-pro/index.html: error: differs from what shard 2/2's manifest.json records"
    )


def test_merge_refuses_the_files_of_a_folder_that_links_out_of_its_shard(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    # The same bytes, reached through a link to a copy outside the shard: a shard's links are never followed.
    project, folders = split
    documents = folders[1] / "ims-pro" / "privacy-policy"
    outside = tmp_path / "outside"
    shutil.copytree(documents, outside)
    shutil.rmtree(documents)
    documents.symlink_to(outside, target_is_directory=True)
    problems = refusal(project, folders, tmp_path / "site")
    assert problems and all("differs from what shard 2/2's manifest.json records" in p for p in problems)
    assert any(p.startswith("shards/part-2/ims-pro/privacy-policy/index.html: error:") for p in problems)


def test_merge_refuses_a_named_pipe_in_a_files_place_without_waiting_for_a_writer(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    page = folders[1] / "ims-pro" / "index.html"
    page.unlink()
    os.mkfifo(page)
    assert refusal(project, folders, tmp_path / "site")[0].startswith(
        "shards/part-2/ims-pro/index.html: error: differs from what shard 2/2's manifest.json records"
    )


def test_merge_holds_no_files_bytes_in_memory_and_links_every_file_from_the_shards(
    split: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Holding every page would hold the whole site: a merge of a hundred thousand tenants' shards.
    project, folders = split
    held: dict[str, int] = {}
    site_files = shards.site_files

    def recording(project: Any, theme: Any, results: list[Any], options: Any) -> Any:
        held.update((o.path, len(o.data)) for r in results for o in r.outputs)
        return site_files(project, theme, results, options)

    monkeypatch.setattr(shards, "site_files", recording)
    merge(project, folders, tmp_path / "site")
    assert held and not any(held.values())  # not a page's bytes, nor a version's record (the feed is read from it)
    assert any(path.endswith("/version.json") for path in held)
    page = "ims-pro/privacy-policy/index.html"
    assert page in held
    assert (tmp_path / "site" / page).stat().st_ino == (folders[1] / page).stat().st_ino  # linked, not written
    build(project, tmp_path / "one", BuildOptions(today=TODAY))
    assert (tmp_path / "site" / "feed.xml").read_bytes() == (tmp_path / "one" / "feed.xml").read_bytes()


def test_merge_reports_a_damaged_manifest_with_line_and_column(split: tuple[Path, list[Path]], tmp_path: Path) -> None:
    project, folders = split
    text = (folders[0] / "manifest.json").read_text(encoding="utf-8")
    (folders[0] / "manifest.json").write_text(text.replace('"kind": "page"', '"kind" "page"', 1), encoding="utf-8")
    (problem,) = refusal(project, folders, tmp_path / "site")
    assert re.fullmatch(
        r"shards/part-1/manifest\.json:\d+:\d+: error: not valid JSON: Expecting ':' delimiter\n"
        r"    hint: build the shard again; its files were changed or damaged since",
        problem,
    )


def test_merge_reports_at_most_ten_problems_of_a_damaged_manifest_and_counts_the_rest(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    rewrite_manifest(folders[0], lambda data: [f.update(sha256="x") for f in data["files"]])
    problems = refusal(project, folders, tmp_path / "site")
    assert len(problems) == 11 and re.fullmatch(
        r"shards/part-1/manifest\.json: error: and \d+ more problems in this "
        r"manifest\.json",
        problems[-1],
    )


def test_merge_refuses_a_site_whose_published_version_vanished(split: tuple[Path, list[Path]], tmp_path: Path) -> None:
    # Shards compare history only with their own (in CI, empty) folders; the merge holds the published site.
    project, _ = split
    site = tmp_path / "site"
    merge(project, build_shards(project, 2, BuildOptions(today=TODAY)), site)
    newest = sorted((project / "tenants/example-fitness/releases/privacy-policy").glob("*.json"))[-1]
    newest.unlink()
    shutil.rmtree(project / "shards")
    folders = build_shards(project, 2, BuildOptions(today=TODAY))
    before = (site / "manifest.json").read_bytes()
    with pytest.raises(InputError) as caught:
        merge(project, folders, site)
    assert any(newest.name in p.format(project) for p in caught.value.problems)
    assert (site / "manifest.json").read_bytes() == before  # the published site and its record are kept


def test_a_refused_merge_leaves_the_previous_site_as_it_was(split: tuple[Path, list[Path]], tmp_path: Path) -> None:
    project, folders = split
    merge(project, folders, tmp_path / "site")
    before = tree(tmp_path / "site")
    with pytest.raises(InputError):
        merge(project, folders[:1], tmp_path / "site")  # shard 2/2 missing
    assert tree(tmp_path / "site") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project", "site"]  # no staging folder left


def test_merge_never_writes_into_a_shard_folder(split: tuple[Path, list[Path]]) -> None:
    project, folders = split
    for out in (folders[0], folders[0] / "site", folders[0].parent):
        with pytest.raises(UsageError, match="cannot be, hold or lie inside the shard folder"):
            merge(project, folders, out)


# --- messages ----------------------------------------------------------------------------------------------------


def test_the_build_message_counts_tenants_and_names_them_only_with_verbose(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    args = ["-C", str(project), "build", "--today", TODAY.isoformat(), "--out", str(tmp_path / "site")]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0
    assert re.fullmatch(
        r"Built 4 tenants in \d+\.\d\d s \(4 rendered, 0 reused\): \d+ files \(\d+ pages\), in .*\n"
        r"Open .*index\.html\n",
        first.output,
    )
    assert "ims-pro" not in first.output
    edit(project / "tenants" / "ims-pro" / "tenant.yaml", "legal_name: ", "legal_name: New ")
    verbose = CliRunner().invoke(cli, [*args, "--verbose"])
    assert verbose.exit_code == 0
    assert (
        "\nrendered: ims-pro\nreused: example-fitness, ihm-connect, ims-global\nBuilt 4 tenants in " in verbose.output
    )
    assert "(1 rendered, 3 reused)" in verbose.output


# --- the CI workflow `policygen init` writes ------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


class Workflow:
    """Runs a GitHub Actions workflow's jobs on this machine, as far as the starter workflow needs.

    Each job starts from a fresh copy of the project (checkout); `run` steps run in bash with
    policygen on the PATH (the pip install step is skipped); upload-artifact and download-artifact
    copy folders to and from a local artifact store, as the real ones do (a pattern download puts
    each artifact in a folder named after it); ${{ }} expressions are the matrix value, step and
    job outputs.
    """

    def __init__(self, project: Path, work: Path) -> None:
        self.project = project
        self.work = work
        self.artifacts = work / "artifacts"
        self.outputs: dict[str, dict[str, str]] = {}
        self.env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(work)}

    def run(self, jobs: dict[str, Any]) -> None:
        done: set[str] = set()
        while len(done) < len(jobs):
            ready = [name for name, job in jobs.items() if name not in done and set(_as_list(job.get("needs"))) <= done]
            assert ready, "the jobs' needs form a cycle"
            for name in ready:
                job = jobs[name]
                for value in job.get("strategy", {}).get("matrix", {}).get("shard", [None]):
                    self.job(name, job, {"matrix.shard": str(value)})
                done.add(name)

    def job(self, name: str, job: dict[str, Any], context: dict[str, str]) -> None:
        workspace = self.work / f"{name}-{context['matrix.shard']}"
        steps: dict[str, dict[str, str]] = {}
        for step in job["steps"]:
            uses, given = step.get("uses", ""), step.get("with", {})
            values = {
                **context,
                **{f"needs.{j}.outputs.{k}": v for j, o in self.outputs.items() for k, v in o.items()},
                **{f"steps.{s}.outputs.{k}": v for s, o in steps.items() for k, v in o.items()},
            }
            if uses.startswith("actions/checkout@"):
                shutil.copytree(self.project, workspace)
            elif uses.startswith("actions/upload-artifact@"):
                shutil.copytree(workspace / given["path"], self.artifacts / self.expand(given["name"], values))
            elif uses.startswith("actions/download-artifact@"):
                prefix = given["pattern"].removesuffix("*")
                assert given["pattern"] == prefix + "*" and not given.get("merge-multiple")
                for artifact in sorted(self.artifacts.glob(given["pattern"])):
                    shutil.copytree(artifact, workspace / given["path"] / artifact.name)
            elif "run" in step and "pip install" not in step["run"]:
                steps[step.get("id", "")] = self.shell(self.expand(step["run"], values), workspace)
            else:
                assert uses.startswith("actions/setup-python@") or "pip install" in step.get("run", ""), step
        values = {f"steps.{s}.outputs.{k}": v for s, o in steps.items() for k, v in o.items()}
        self.outputs[name] = {k: self.expand(v, values) for k, v in job.get("outputs", {}).items()}

    def shell(self, script: str, workspace: Path) -> dict[str, str]:
        output = self.work / "github-output"
        output.write_text("", encoding="utf-8")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=workspace,
            capture_output=True,
            text=True,
            env={**self.env, "GITHUB_OUTPUT": str(output)},
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        lines = output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    @staticmethod
    def expand(text: str, values: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            assert match[1] in values, f"unknown expression {match[0]}"
            return values[match[1]]

        return EXPRESSION.sub(value, text)


def _as_list(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


@pytest.mark.slow
def test_the_init_workflow_builds_shards_side_by_side_and_merges_them_into_the_site_one_build_makes(
    tmp_path: Path,
) -> None:
    project = init(tmp_path / "p").root
    for i in range(1, 6):  # enough tenants that several shards hold some
        shutil.copytree(project / "tenants" / "example", project / "tenants" / f"example-{i}")
    workflow = yaml.safe_load((project / ".github" / "workflows" / "policy.yml").read_text(encoding="utf-8"))
    matrix = workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"]
    assert f'--shard "${{{{ matrix.shard }}}}/{len(matrix)}"' in workflow["jobs"]["shard"]["steps"][-2]["run"]
    runner = Workflow(project, tmp_path / "ci")
    runner.run(workflow["jobs"])
    site = tmp_path / "ci" / "artifacts" / "site"
    today = runner.outputs["check"]["today"]
    whole = build(project, tmp_path / "whole", BuildOptions(today=dt.date.fromisoformat(today)))
    assert len(whole.tenants) == 6
    assert differences(tree(whole.out), tree(site)) == []
    held = [
        json.loads((tmp_path / "ci" / "artifacts" / f"shard-{k}" / "manifest.json").read_bytes())["tenants"]
        for k in matrix
    ]
    assert sum(1 for tenants in held if tenants) >= 2


def test_a_manifest_claiming_a_billion_shards_is_refused_at_once(
    split: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    project, folders = split
    rewrite_manifest(
        folders[0], lambda data: data.update(files=[], tenants={}, shard={**data["shard"], "count": 10**12})
    )
    problems = refusal(project, folders[:1], tmp_path / "site")
    assert problems[0] == (
        "error: shards 2/1000000000000, 3/1000000000000, 4/1000000000000, 5/1000000000000, "
        "6/1000000000000, 7/1000000000000, 8/1000000000000, 9/1000000000000, 10/1000000000000, "
        "11/1000000000000 and 999,999,999,989 more missing: a site needs all 1,000,000,000,000 "
        "shards\n    expected: the output folders of shards 1/1000000000000 to "
        "1000000000000/1000000000000\n    hint: give the folder `policygen build --shard "
        "2/1000000000000` wrote"
    )

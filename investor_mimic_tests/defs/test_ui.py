"""What the Dagster UI shows after ``investor-mimic demo --size tiny``, through its GraphQL
API and in a browser.

What ``make ui`` runs — a real ``dagster-webserver`` and ``dagster-daemon`` on the module it
loads — on the session's tiny demo run (data dir and DAGSTER_HOME as the demo left them; not
a copy: the resources' paths are part of each job's snapshot, so a copy would load other
snapshots than the demo's runs carry). What this adds to that instance: one successful
``daily_summary_job`` run (no ``source: demo`` tag) and the sensors' cursors; the pending
approval request stays pending (execution needs an approval). Once ``/server_info`` answers
and the code location has loaded: the asset graph the UI draws is the Definitions' graph;
the demo's runs belong to the UI's code location with the job snapshots it loaded (the
Overview timeline lists them; "Re-execute" gives no version warning); every checked
partition reads Passed — never Skipped — and the partitions span the world; every schedule
and sensor is in the state its definition declares and the daemon reports healthy; a run
launched through GraphQL is queued, started by the daemon and succeeds; headless Chromium
shows the lineage page with the asset names (the README's screenshot,
``IM_UPDATE_SCREENSHOT=1`` rewrites docs/asset-lineage.png); every asset, job, schedule and
sensor carries the descriptions, owners, kinds and code references the UI displays. The
webserver, the daemon and the browser are stopped by their PIDs' process groups, also on
failure.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from investor_mimic.core.calendar import trading_days
from investor_mimic.defs.metadata import STORAGE_KINDS, TECHNOLOGY_KINDS
from investor_mimic.defs.stages import LOCATION_NAME
from investor_mimic_tests.helpers.demo_run import DemoRun
from investor_mimic_tests.helpers.devtools import chromium_page, pixel_spread
from investor_mimic_tests.helpers.paths import REPO
from investor_mimic_tests.helpers.webserver import GraphQL, daemon, webserver

REPOSITORY = "__repository__"
SELECTOR = {"repositoryLocationName": LOCATION_NAME, "repositoryName": REPOSITORY}


@pytest.fixture(scope="module")
def ui(tiny_demo: DemoRun) -> Iterator[GraphQL]:
    assert tiny_demo.returncode == 0, tiny_demo.stderr[-3000:]
    with daemon(tiny_demo.cwd, tiny_demo.env), webserver(tiny_demo.cwd, tiny_demo.env) as client:
        yield client


REPOSITORY_QUERY = """
query ($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    __typename
    ... on Repository {
      jobs { name description pipelineSnapshotId }
      schedules { name description }
      sensors { name description }
    }
  }
}
"""

RUNS_QUERY = """
{
  runsOrError(filter: {tags: [{key: "source", value: "demo"}]}) {
    ... on Runs {
      results {
        runId jobName status pipelineSnapshotId parentPipelineSnapshotId
        tags { key value }
        repositoryOrigin { repositoryLocationName repositoryName }
      }
    }
  }
}
"""

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    description groupName kinds isPartitioned
    owners { __typename ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    metadataEntries { label __typename }
    partitionKeys
    assetPartitionStatuses {
      __typename
      ... on TimePartitionStatuses { ranges { status startKey endKey } }
      ... on MultiPartitionStatuses { primaryDimensionName }
    }
    assetChecksOrError {
      ... on AssetChecks {
        checks {
          name description
          executionForLatestMaterialization { status }
          partitionStatuses {
            __typename
            ... on AssetCheckTimePartitionStatuses { ranges { status startKey endKey } }
            ... on AssetCheckDefaultPartitionStatuses {
              succeededPartitions failedPartitions inProgressPartitions
              skippedPartitions executionFailedPartitions
            }
            ... on AssetCheckMultiPartitionStatuses {
              ranges {
                primaryDimStartKey primaryDimEndKey
                secondaryDim {
                  __typename
                  ... on AssetCheckDefaultPartitionStatuses {
                    succeededPartitions failedPartitions inProgressPartitions
                    skippedPartitions executionFailedPartitions
                  }
                  ... on AssetCheckTimePartitionStatuses { ranges { status startKey endKey } }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def repository(ui: GraphQL) -> dict[str, Any]:
    repo = ui(REPOSITORY_QUERY, selector=SELECTOR)["repositoryOrError"]
    assert repo["__typename"] == "Repository", repo
    return dict(repo)


@pytest.fixture(scope="module")
def assets(ui: GraphQL) -> dict[str, dict[str, Any]]:
    return {"/".join(a["assetKey"]["path"]): a for a in ui(ASSETS_QUERY)["assetNodes"]}


def test_demo_runs_belong_to_the_ui_code_location_with_its_job_snapshots(
    ui: GraphQL, repository: dict[str, Any], tiny_demo: DemoRun
) -> None:
    runs = ui(RUNS_QUERY)["runsOrError"]["results"]
    snapshots = {j["name"]: j["pipelineSnapshotId"] for j in repository["jobs"]}

    assert len(runs) == len(tiny_demo.summary["seconds"]) - 1  # one run per stage
    for run in runs:
        assert run["status"] == "SUCCESS", run
        # The Overview timeline lists only runs with an origin in a loaded location.
        assert run["repositoryOrigin"] == SELECTOR, run
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert {"source": "demo", "world_size": "tiny", "world_seed": "3"}.items() <= tags.items()
        # The UI's match for "Re-execute" without a warning: origin and job snapshot.
        snapshot = run["parentPipelineSnapshotId"] or run["pipelineSnapshotId"]
        assert snapshot == snapshots[run["jobName"]], run["jobName"]


def _check_statuses(check: dict[str, Any]) -> dict[str, set[str]]:
    """status -> partition keys (or ``primary..primary|secondary`` labels), from any of
    the three shapes the API answers in."""
    out: dict[str, set[str]] = {}
    statuses = check["partitionStatuses"]

    def default(shape: dict[str, Any], prefix: str = "") -> None:
        for field, status in [
            ("succeededPartitions", "SUCCEEDED"),
            ("failedPartitions", "FAILED"),
            ("inProgressPartitions", "IN_PROGRESS"),
            ("skippedPartitions", "SKIPPED"),
            ("executionFailedPartitions", "EXECUTION_FAILED"),
        ]:
            out.setdefault(status, set()).update(prefix + k for k in shape[field])

    def ranges(shape: dict[str, Any], prefix: str = "") -> None:
        for r in shape["ranges"]:
            out.setdefault(r["status"], set()).add(f"{prefix}{r['startKey']}..{r['endKey']}")

    kind = statuses["__typename"]
    if kind == "AssetCheckDefaultPartitionStatuses":
        default(statuses)
    elif kind == "AssetCheckTimePartitionStatuses":
        ranges(statuses)
    else:
        for r in statuses["ranges"]:
            prefix = f"{r['primaryDimStartKey']}..{r['primaryDimEndKey']}|"
            inner = r["secondaryDim"]
            (default if "succeededPartitions" in inner else ranges)(inner, prefix)
    return {k: v for k, v in out.items() if v}


def _expand(keys: list[str], ranges: list[dict[str, Any]]) -> set[str]:
    """The partition keys of the MATERIALIZED / SUCCEEDED time ranges."""
    out: set[str] = set()
    for r in ranges:
        if r["status"] in ("MATERIALIZED", "SUCCEEDED"):
            out.update(keys[keys.index(r["startKey"]) : keys.index(r["endKey"]) + 1])
    return out


def test_every_checked_partition_reads_passed_never_skipped(
    assets: dict[str, dict[str, Any]],
) -> None:
    partitioned_checks = 0
    for name, asset in assets.items():
        for check in asset["assetChecksOrError"].get("checks", []):
            label = f"{name}:{check['name']}"
            if check["partitionStatuses"] is None:  # an unpartitioned check
                assert check["executionForLatestMaterialization"]["status"] == "SUCCEEDED", label
                continue
            partitioned_checks += 1
            statuses = _check_statuses(check)
            assert set(statuses) == {"SUCCEEDED"}, (label, statuses)
            if check["partitionStatuses"]["__typename"] == "AssetCheckTimePartitionStatuses":
                # exactly the partitions the demo materialized (with their checks)
                keys = asset["partitionKeys"]
                materialized = _expand(keys, asset["assetPartitionStatuses"]["ranges"])
                assert _expand(keys, check["partitionStatuses"]["ranges"]) == materialized, label
                assert materialized, name
    assert partitioned_checks >= 10


def test_trading_day_partitions_span_the_world_and_the_demo_fills_them(
    assets: dict[str, dict[str, Any]], tiny_demo: DemoRun
) -> None:
    manifest = tiny_demo.manifest
    days = trading_days(date.fromisoformat(manifest["start"]), date.fromisoformat(manifest["end"]))
    for name in ("insider_trades", "prices", "news_sentiment"):
        asset = assets[name]
        assert asset["partitionKeys"] == [f"{d:%Y-%m-%d}" for d in days], name
        statuses = asset["assetPartitionStatuses"]["ranges"]
        assert [(r["status"], r["startKey"], r["endKey"]) for r in statuses] == [
            ("MATERIALIZED", f"{days[0]:%Y-%m-%d}", f"{days[-1]:%Y-%m-%d}")
        ], name


def test_every_asset_has_a_description_owner_kinds_and_a_code_reference(
    assets: dict[str, dict[str, Any]],
) -> None:
    assert len(assets) >= 10
    for name, asset in assets.items():
        assert (asset["description"] or "").strip(), name
        assert asset["owners"], name
        kinds = set(asset["kinds"])
        assert kinds & STORAGE_KINDS and kinds & TECHNOLOGY_KINDS, (name, kinds)
        assert kinds <= STORAGE_KINDS | TECHNOLOGY_KINDS, (name, kinds)
        references = [
            e for e in asset["metadataEntries"] if e["label"] == "dagster/code_references"
        ]
        assert [e["__typename"] for e in references] == ["CodeReferencesMetadataEntry"], name


def test_every_job_schedule_and_sensor_is_described_and_the_readme_names_them(
    repository: dict[str, Any],
) -> None:
    jobs = [j for j in repository["jobs"] if not j["name"].startswith("__")]
    automations = repository["schedules"] + repository["sensors"]
    for item in jobs + automations:
        assert (item["description"] or "").strip(), item["name"]

    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"<!-- automation-table:start -->\n(.*?)<!-- automation-table:end -->", readme, re.S
    )
    assert block
    listed = set(re.findall(r"^\| `(\w+)` \|", block.group(1), re.M))
    assert listed == {a["name"] for a in automations}


GRAPH_QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def test_the_asset_graph_the_ui_draws_is_the_definitions_graph(ui: GraphQL) -> None:
    from investor_mimic.definitions import defs

    graph = defs.resolve_asset_graph()
    declared = {
        key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
        for key in graph.get_all_asset_keys()
    }
    drawn = {
        "/".join(node["assetKey"]["path"]): {"/".join(d["path"]) for d in node["dependencyKeys"]}
        for node in ui(GRAPH_QUERY)["assetNodes"]
    }
    assert drawn == declared
    assert len(drawn) >= 10 and sum(map(len, drawn.values())) >= len(drawn)


AUTOMATION_QUERY = """
query ($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    ... on Repository {
      schedules { name scheduleState { status } }
      sensors { name sensorState { status } }
    }
  }
}
"""

DAEMONS_QUERY = """
{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }
"""


def _wait_for(what: str, probe: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}: last {probe()!r}")


def test_schedules_and_sensors_run_as_declared_and_the_daemon_is_healthy(ui: GraphQL) -> None:
    from investor_mimic.definitions import defs

    def state(status: object) -> str:
        return str(getattr(status, "value", status))

    declared = {s.name: state(s.default_status) for s in defs.schedules or []}
    declared |= {s.name: state(s.default_status) for s in defs.sensors or []}
    repo = ui(AUTOMATION_QUERY, selector=SELECTOR)["repositoryOrError"]
    shown = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    shown |= {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert shown == declared
    assert "RUNNING" in shown.values() and "STOPPED" in shown.values()

    def healthy() -> dict[str, bool] | None:
        statuses = ui(DAEMONS_QUERY)["instance"]["daemonHealth"]["allDaemonStatuses"]
        required = {d["daemonType"]: d["healthy"] for d in statuses if d["required"]}
        return required if required and all(required.values()) else None

    daemons = _wait_for("a healthy daemon", healthy)
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(daemons)


LAUNCH = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""

RUN_QUERY = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status jobName repositoryOrigin { repositoryLocationName repositoryName } }
  }
}
"""

FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def test_a_run_launched_through_graphql_is_queued_started_by_the_daemon_and_succeeds(
    ui: GraphQL,
) -> None:
    params = {"selector": SELECTOR | {"jobName": "daily_summary_job"}, "runConfigData": {}}
    launched = ui(LAUNCH, params=params)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    # QueuedRunCoordinator: only the daemon takes it from the queue
    assert launched["run"]["status"] == "QUEUED", launched
    run_id = launched["run"]["runId"]
    seen: list[str] = []

    def finished() -> dict[str, Any] | None:
        run = ui(RUN_QUERY, runId=run_id)["runOrError"]
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        return run if run["status"] in FINISHED else None

    run = _wait_for(f"run {run_id} to finish", finished, timeout=180)
    assert run["status"] == "SUCCESS", (run, seen)
    assert run["jobName"] == "daily_summary_job" and run["repositoryOrigin"] == SELECTOR


LINEAGE = "/assets/factor_evaluation?view=lineage&lineageScope=upstream&lineageDepth=4"
#: the lineage graph's edges: paths in its SVG container, less the arrowhead marker
EDGES = (
    "Array.from(document.querySelectorAll('[class*=\"VGContainer\"] path'))"
    ".filter(p => /^M\\d/.test(p.getAttribute('d') || '')).length"
)


def test_chromium_shows_the_lineage_of_factor_evaluation(
    ui: GraphQL, browser: str, tmp_path: Path
) -> None:
    from investor_mimic.definitions import defs

    graph = defs.resolve_asset_graph()
    upstream = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if dg.AssetKey("factor_evaluation") in graph.get(k).child_keys
    }
    # the direct parents and the sources, as the graph's node labels (short names only:
    # the UI shortens long ones)
    names = sorted(
        n
        for n in upstream | {"prices", "universe", "insider_trades", "news_sentiment"}
        if len(n) < 18
    )
    with chromium_page(browser, tmp_path / "profile") as page:
        page.open(ui.url + LINEAGE, width=1700, height=1000)
        text = page.wait_for_text(names, timeout=90)
        # the edges are drawn after the nodes: at least one per parent of factor_evaluation
        edges = page.wait_stable(EDGES, minimum=len(upstream), timeout=60)
        shot = page.screenshot(tmp_path / "asset-lineage.png")
    assert "Lineage" in text and edges >= len(upstream)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 30_000
    assert pixel_spread(shot) > 10  # not a blank page
    if os.environ.get("IM_UPDATE_SCREENSHOT") == "1":
        (REPO / "docs" / "asset-lineage.png").write_bytes(shot)

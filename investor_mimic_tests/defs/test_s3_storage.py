"""Asset Parquet on S3: the same IO manager against a real S3 API (moto in server mode)."""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import pytest
import requests
from moto.server import ThreadedMotoServer

from investor_mimic.defs.io_manager import PartitionedParquetIOManager
from investor_mimic.defs.stages import range_tags
from investor_mimic_tests.helpers.daily_assets import daily, total

BUCKET = "im-assets"
DAGSTER = str(Path(sys.executable).with_name("dagster"))
LOCATION = "investor_mimic_tests.helpers.storage_location"


@pytest.fixture()
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(logging.getLogger("werkzeug"), "level", logging.ERROR)  # request lines
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto keeps its state per Python process, not per server: start from an empty S3
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def test_partitions_round_trip_through_s3(s3_endpoint: str) -> None:
    io = PartitionedParquetIOManager(base_path=f"s3://{BUCKET}/assets", s3_endpoint_url=s3_endpoint)
    written = dg.materialize(
        [daily, total],
        selection=[daily],
        resources={"io_manager": io},
        tags=range_tags("2024-01-02", "2024-01-04"),
    )
    assert written.success
    for day in ("2024-01-05", "2024-01-06"):  # a backfill of one run per partition
        assert dg.materialize(
            [daily, total], selection=[daily], resources={"io_manager": io}, partition_key=day
        ).success
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [f"assets/daily/2024-01-0{d}.parquet" for d in range(2, 7)]

    # a later run (a fresh IO manager: nothing in memory) reads them back from S3
    fresh = PartitionedParquetIOManager(
        base_path=f"s3://{BUCKET}/assets", s3_endpoint_url=s3_endpoint
    )
    loaded = dg.materialize([daily, total], selection=[total], resources={"io_manager": fresh})
    assert loaded.output_for_node("total")["sum"].tolist() == [2 + 3 + 4 + 5 + 6]
    assert fresh.read_asset(dg.AssetKey("total"))["n"].tolist() == [5]


def test_missing_bucket_is_a_clear_error(s3_endpoint: str) -> None:
    io = PartitionedParquetIOManager(base_path="s3://no-such-bucket/x", s3_endpoint_url=s3_endpoint)
    with pytest.raises(Exception, match=r"no-such-bucket|NoSuchBucket|bucket"):
        io.read_asset(dg.AssetKey("total"))


def _run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow  # two fresh processes importing Dagster: ~15 s of CPU
def test_a_restarted_process_reads_what_the_previous_one_wrote_to_s3(
    s3_endpoint: str, tmp_path: Path
) -> None:
    """Two processes configured only by the environment (as deployments are), one Dagster
    home: the first backfills partitions one run at a time and as one range run, the
    second (nothing in memory) loads them all back from S3 through the Dagster CLI."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "IM_DATA_DIR": str(tmp_path / "data"),
        "IM_ASSET_STORAGE_URL": f"s3://{BUCKET}/staging",
        "IM_S3_ENDPOINT_URL": s3_endpoint,
    }
    _run(env, sys.executable, "-m", LOCATION)
    _run(env, DAGSTER, "asset", "materialize", "-m", LOCATION, "--select", "total")

    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [
        *(f"staging/daily/2024-01-0{d}.parquet" for d in range(2, 7)),
        "staging/total.parquet",
    ]
    assert not (tmp_path / "data" / "assets").exists()  # nothing went to local files
    reader = PartitionedParquetIOManager(
        base_path=f"s3://{BUCKET}/staging", s3_endpoint_url=s3_endpoint
    )
    assert reader.read_asset(dg.AssetKey("total")).to_dict("records") == [
        {"n": 5, "sum": 2 + 3 + 4 + 5 + 6}
    ]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_runs()) == 4
        assert instance.get_materialized_partitions(dg.AssetKey("daily")) == {
            f"2024-01-0{d}" for d in range(2, 7)
        }

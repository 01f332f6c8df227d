"""Asset Parquet on S3: the same IO manager against a real S3 API (moto in server mode)."""

from collections.abc import Iterator

import boto3
import dagster as dg
import pytest
from moto.server import ThreadedMotoServer

from investor_mimic.defs.io_manager import PartitionedParquetIOManager
from investor_mimic.defs.stages import range_tags
from investor_mimic_tests.helpers.daily_assets import daily, total

BUCKET = "im-assets"


@pytest.fixture()
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
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
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET)
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [f"assets/daily/2024-01-0{d}.parquet" for d in (2, 3, 4)]

    # a later run (a fresh IO manager: nothing in memory) reads them back from S3
    fresh = PartitionedParquetIOManager(
        base_path=f"s3://{BUCKET}/assets", s3_endpoint_url=s3_endpoint
    )
    loaded = dg.materialize([daily, total], selection=[total], resources={"io_manager": fresh})
    assert loaded.output_for_node("total")["sum"].tolist() == [2 + 3 + 4]
    assert fresh.read_asset(dg.AssetKey("total"))["n"].tolist() == [3]


def test_missing_bucket_is_a_clear_error(s3_endpoint: str) -> None:
    io = PartitionedParquetIOManager(base_path="s3://no-such-bucket/x", s3_endpoint_url=s3_endpoint)
    with pytest.raises(Exception, match=r"no-such-bucket|NoSuchBucket|bucket"):
        io.read_asset(dg.AssetKey("total"))

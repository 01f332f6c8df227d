"""``investor-mimic filing show`` end to end: the CLI's ``main`` with its output captured
(one test runs it in a subprocess, as a user runs it; a subprocess per case cost ~1.5 s
of imports each)."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from investor_mimic.cli import main
from investor_mimic_tests.helpers.filings import LTS_TOTAL_USD, edit_13f, in_thousands
from investor_mimic_tests.helpers.paths import REPO

FULL_13F = "13F-HR_0001894188-23-000007_full-submission.txt"
COMMAND = [sys.executable, "-m", "investor_mimic.cli", "filing", "show"]
RESTATEMENT = "SEC-sample_13F-HRA_restatement_synthetic-values.xml"


def show(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    """``investor-mimic filing show PATH --format FMT`` in this process."""
    args = ["filing", "show", str(path), "--format", fmt]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def console(*args: str) -> subprocess.CompletedProcess[str]:
    """``investor-mimic filing show ARGS`` in a subprocess, as a user runs it."""
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )


def test_the_command_runs_as_a_user_runs_it(edgar_fixtures: Path) -> None:
    """The console command in a subprocess prints what ``main`` prints in process."""
    path = edgar_fixtures / FULL_13F
    done = console(str(path), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(show(path, "json").stdout)
    missing = console(f"{path}.nope")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def ok_json(path: Path, warnings: int = 0) -> dict[str, Any]:
    """The JSON of a readable filing; exactly ``warnings`` warning lines on stderr."""
    result = show(path, "json")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == warnings, result.stderr
    assert all(line.startswith(f"warning: {path}: ") for line in lines)
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_json_of_the_full_13f_submission(edgar_fixtures: Path) -> None:
    out = ok_json(edgar_fixtures / FULL_13F)
    assert out["form"] == "13F-HR"
    s = out["summary"]
    assert s["accession"] == "0001894188-23-000007"
    assert s["filed_at"] == "2023-11-14T09:38:54"
    assert s["period_of_report"] == "2023-09-30"
    assert s["amendment_type"] is None
    assert s["entry_total"] == 14 and s["parsed_rows"] == 14
    assert s["value_total_usd"] == s["parsed_value_usd"] == 454_926_000
    assert s["reconciles"] is True
    units = s["value_units"]
    assert units["multiplier"] == 1 and units["basis"] == "schema_version"
    assert units["schema_version"] == "X0202"
    assert units["median_price_per_share"] > 0
    assert len(out["rows"]) == 14
    first = out["rows"][0]
    assert {k: first[k] for k in ("cusip", "issuer", "title_of_class", "share_type")} == {
        "cusip": "023135106",
        "issuer": "AMAZON COM INC",
        "title_of_class": "COM",
        "share_type": "SH",
    }
    assert (first["value_usd"], first["shares"], first["put_call"]) == (17_479_000, 137_500, None)


def test_json_of_a_lone_cover_in_whole_dollars(edgar_fixtures: Path) -> None:
    out = ok_json(edgar_fixtures / "13F-HR_abacus_primary_doc.xml")
    s = out["summary"]
    assert s["period_of_report"] == "2020-12-31" and s["entry_total"] == 92
    assert s["value_total_usd"] == 114_663_960  # $114.7 M (README, corrected)
    assert s["value_units"]["multiplier"] == 1
    assert s["value_units"]["basis"] == "schema_version"
    assert s["filed_at"] is None and s["parsed_rows"] == 0 and out["rows"] == []
    assert s["reconciles"] is None  # no table to reconcile with


def test_json_of_the_restatement_sample_says_it_does_not_reconcile(edgar_fixtures: Path) -> None:
    """The SEC's sample cover states 1,222 entries and $1,122 thousand; its table has
    169 rows worth $7.45 trillion (synthetic values). Readable, so exit 0, but said."""
    path = edgar_fixtures / RESTATEMENT
    out = ok_json(path, warnings=2)
    assert out["form"] == "13F-HR/A"
    assert out["summary"]["amendment_type"] == "RESTATEMENT"
    assert out["summary"]["period_of_report"] == "2021-12-31"
    assert out["summary"]["parsed_rows"] == 169
    assert out["summary"]["reconciles"] is False
    stderr = show(path, "json").stderr
    assert "169 rows parsed, cover says 1222" in stderr
    assert "parsed value $7,454,702,899,000, cover says $1,122,000" in stderr


def test_json_of_a_lone_information_table_states_its_unit_rule(edgar_fixtures: Path) -> None:
    """The sample table is sized in thousands (Apple: 10,456 for 35,606 shares); its
    prices say so although it carries the post-2022 <figi> element."""
    out = ok_json(edgar_fixtures / "SEC-sample_information_table_synthetic-values.xml")
    s = out["summary"]
    assert s["parsed_rows"] == 169 and len(out["rows"]) == 169
    assert s["period_of_report"] is None and s["value_total_usd"] is None
    units = s["value_units"]
    assert units["basis"] == "implied_prices" and units["multiplier"] == 1000
    assert units["figi_present"] and "under $1 a share" in units["rule"]
    apple = next(r for r in out["rows"] if r["issuer"] == "APPLE INC")
    assert apple["value_usd"] == 10_456_000


def test_cover_totals_that_disagree_warn_on_stderr_and_exit_0(
    edgar_fixtures: Path, tmp_path: Path
) -> None:
    path = tmp_path / "off.txt"
    full = (edgar_fixtures / FULL_13F).read_text()
    path.write_text(edit_13f(full, cover_value_total=454_000_000))
    out = ok_json(path, warnings=1)
    assert out["summary"]["reconciles"] is False
    assert out["summary"]["value_total_usd"] == 454_000_000
    assert out["summary"]["parsed_value_usd"] == LTS_TOTAL_USD
    for fmt in ("table", "csv"):
        result = show(path, fmt)
        assert result.returncode == 0
        assert result.stderr == (
            f"warning: {path}: cover totals disagree with the table: "
            "parsed value $454,926,000, cover says $454,000,000\n"
        )
        assert fmt == "csv" or "reconciles: False" in result.stdout


def test_a_filing_still_in_thousands_after_the_switch_shows_dollars(
    edgar_fixtures: Path, tmp_path: Path
) -> None:
    path = tmp_path / "thousands.txt"
    full = (edgar_fixtures / FULL_13F).read_text()
    path.write_text(edit_13f(full, period=date(2022, 12, 31), rows=in_thousands))
    s = ok_json(path)["summary"]
    assert s["value_total_usd"] == s["parsed_value_usd"] == LTS_TOTAL_USD
    assert s["reconciles"] is True
    assert s["value_units"]["multiplier"] == 1000
    assert s["value_units"]["basis"] == "implied_prices"


def test_every_real_fixture_shows_in_dollars(edgar_fixtures: Path) -> None:
    """Dollar totals of every 13F fixture as ``filing show`` prints them."""
    totals = {}
    for path in sorted(edgar_fixtures.glob("13F-*")) + sorted(edgar_fixtures.glob("SEC-*")):
        s = ok_json(path, warnings=2 if path.name == RESTATEMENT else 0)["summary"]
        totals[path.name] = (s["value_total_usd"], s["parsed_value_usd"])
    assert totals == {
        FULL_13F: (454_926_000, 454_926_000),
        "13F-HR_abacus_primary_doc.xml": (114_663_960, 0),
        RESTATEMENT: (1_122_000, 7_454_702_899_000),
        "SEC-sample_information_table_synthetic-values.xml": (None, 7_454_702_899_000),
    }


def test_json_of_the_form4(edgar_fixtures: Path) -> None:
    out = ok_json(edgar_fixtures / "form4_374water_X0508.xml")
    assert out["form"] == "4"
    assert out["summary"]["ticker"] == "SCWO"
    assert out["summary"]["owners"] == [
        {
            "name": "Melkote Rajesh Ramaswamy",
            "cik": "0002064133",
            "is_director": False,
            "is_officer": True,
            "is_ten_percent_owner": False,
            "is_other": False,
            "officer_title": "Chief Technology Officer",
        }
    ]
    award, option = out["rows"]
    assert award == award | {
        "transaction_date": "2025-04-30",
        "code": "A",
        "shares": 757_756,
        "price": 0,
        "acquired_disposed": "A",
        "direct_indirect": "D",
        "is_derivative": False,
        "is_10b5_1": False,
    }
    assert option["is_derivative"] is True and option["code"] == "A"


def test_csv_has_a_header_and_one_line_per_row(edgar_fixtures: Path) -> None:
    result = show(edgar_fixtures / FULL_13F, "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 14
    assert sum(float(r["value_usd"]) for r in rows) == 454_926_000
    assert rows[0]["cusip"] == "023135106" and rows[0]["put_call"] == ""


def test_table_shows_summary_and_rows(edgar_fixtures: Path) -> None:
    result = show(edgar_fixtures / FULL_13F, "table")
    assert result.returncode == 0, result.stderr
    assert "period_of_report: 2023-09-30" in result.stdout
    assert "value_total_usd: 454,926,000" in result.stdout
    assert "value_units.rule:" in result.stdout
    assert "AMAZON COM INC" in result.stdout and "VISA INC" in result.stdout
    form4 = show(edgar_fixtures / "form4_374water_X0508.xml", "table")
    assert "owner 1: Melkote Rajesh Ramaswamy" in form4.stdout
    assert "757,756" in form4.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "malformed or truncated XML"),  # half of the real information table
        (b"<html><body>not a filing</body></html>", "an HTML page, not a 13F or Form 4 filing"),
        (b"<!DOCTYPE html><html><body><br><p>EDGAR</body>", "an HTML page"),  # not well-formed
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "Adobe Portable Document Format file"),
        (gzip.compress(b"<SEC-DOCUMENT>", mtime=0), "GZIP Archive file"),
        (bytes(range(256)), "binary data"),
        (b"<rss><channel/></rss>", "not a 13F or Form 4 document (root element <rss>)"),
        (b"", "empty XML document"),
    ],
)
def test_malformed_input_exits_2_with_one_line(
    edgar_fixtures: Path, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.xml"
    if content is None:
        real = (edgar_fixtures / "SEC-sample_information_table_synthetic-values.xml").read_bytes()
        content = real[: len(real) // 2]
    path.write_bytes(content)
    result = show(path, "json")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"error: {path}: ") and message in lines[0]


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = show(tmp_path / "nope.xml", "table")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr

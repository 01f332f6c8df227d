"""Progress reporting: a bar on a terminal, a plain line every few seconds elsewhere, the
same lines to a log callback (Dagster), nothing when quiet."""

from __future__ import annotations

import io

from investor_mimic.core.progress import Progress, describe


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_says_done_of_total_rows_elapsed_and_eta() -> None:
    line = describe("daily sources", 300, 1258, "partitions", 12345, 10.0)
    assert line == ("daily sources: 300/1,258 partitions (24%), 12,345 rows, elapsed 10s, ETA 32s")
    assert describe("scan", 7, None, "files", 0, 75.0) == "scan: 7 files, elapsed 1m15s"
    finished = describe("scan", 4, 4, "files", 0, 3661.0)
    assert finished == "scan: 4/4 files (100%), elapsed 1h01m01s"


def test_off_a_terminal_a_plain_line_every_few_seconds_and_one_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("prices", total=10, unit="days", stream=out, every=5.0, clock=clock) as p:
        assert p.mode == "lines"
        for _ in range(10):
            clock.now += 1.0
            p.advance(1, rows=40)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines == [
        "prices: 5/10 days (50%), 200 rows, elapsed 5s, ETA 5s",
        "prices: 10/10 days (100%), 400 rows, elapsed 10s (done)",
    ]


def test_on_a_terminal_a_live_bar_and_no_plain_lines() -> None:
    out, clock = Terminal(), Clock()
    with Progress("factors", total=8, unit="factors", stream=out, every=1.0, clock=clock) as p:
        assert p.mode == "bar"
        for _ in range(8):
            clock.now += 2.0
            p.advance()
    text = out.getvalue()
    assert "\r" in text and "8/8" in text and "factors" in text
    assert "elapsed" not in text  # tqdm's own layout, not the plain lines


def test_quiet_writes_nothing_but_the_log_callback_still_hears() -> None:
    out, clock, logged = io.StringIO(), Clock(), []
    with Progress(
        "insider_trades",
        3,
        "EDGAR days",
        mode="quiet",
        stream=out,
        log=logged.append,
        every=5.0,
        clock=clock,
    ) as p:
        p.advance()
        clock.now += 6.0
        p.advance(1, rows=2)
        p.advance()
    assert out.getvalue() == ""
    assert logged == [
        "insider_trades: 2/3 EDGAR days (67%), 2 rows, elapsed 6s, ETA 6s",
        "insider_trades: 3/3 EDGAR days (100%), 2 rows, elapsed 6s (done)",
    ]


def test_an_exception_ends_the_progress_as_stopped_not_done() -> None:
    out = io.StringIO()
    try:
        with Progress("fit", 5, "refits", stream=out) as p:
            p.advance()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert out.getvalue().strip().endswith("(stopped)")


def test_the_total_may_come_later() -> None:
    out = io.StringIO()
    with Progress("stage", unit="results", stream=out) as p:
        p.set_total(2)
        p.advance(2)
    assert out.getvalue().strip() == "stage: 2/2 results (100%), elapsed 0s (done)"


def test_the_eta_counts_from_the_first_result_not_from_a_long_start() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("daily sources", 100, "results", stream=out, every=5.0, clock=clock) as p:
        clock.now += 60.0  # a minute of compute before any result lands
        p.advance()
        for _ in range(9):
            clock.now += 1.0
            p.advance()
    first, second = out.getvalue().splitlines()[:2]
    assert first == "daily sources: 1/100 results (1%), elapsed 1m00s"  # no rate yet
    assert second == "daily sources: 6/100 results (6%), elapsed 1m05s, ETA 1m34s"

"""Progress of long work: one reporter for every stage that can take more than a few seconds.

Why one module: the demo's stages, the Dagster assets and the CLI all report the same
figures (done of total, rows, elapsed, ETA) and must behave the same on a terminal, in
a CI log and in the Dagster UI:

* **terminal** (the stream is a TTY): a live ``tqdm`` bar, redrawn in place;
* **anything else** (CI logs, files, pipes): one plain line every ``every`` seconds and
  a last one when the work ends, never carriage-return redraws;
* **a log callback** (``log=``): the same plain line, on the same clock, handed to a
  function — the Dagster assets pass ``context.log.info`` (see
  :mod:`investor_mimic.defs.progress`), so the UI shows progress while the run is going
  on; this module imports no Dagster;
* **quiet** (``--json``): nothing at all.

Pure code (factor panel, parsers, engines) takes a :data:`Advance` callback instead of a
reporter, so it stays free of output concerns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Literal

from tqdm import tqdm

#: What pure code calls as it goes: ``advance(done_increment, rows_increment)``.
Advance = Callable[[int, int], None]

Mode = Literal["auto", "bar", "lines", "quiet"]

#: Seconds between plain lines (CI logs) and between log-callback lines (Dagster UI).
EVERY_SECONDS = 5.0


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def describe(
    label: str,
    done: int,
    total: int | None,
    unit: str,
    rows: int,
    elapsed: float,
    active: tuple[float, int] | None = None,
) -> str:
    """The plain progress line: ``label: 300/1,258 partitions (24%), 12,345 rows,
    elapsed 10s, ETA 31s`` (no total: no share and no ETA; no rows: no rows).

    The ETA extrapolates the rate ``active = (seconds, units)`` measured since the first
    unit was done (default: ``elapsed`` and ``done``): a stage that computes for a minute
    before its first result would otherwise promise an hour."""
    parts = [f"{done:,}/{total:,} {unit}" if total else f"{done:,} {unit}"]
    if total:
        parts[0] += f" ({100.0 * done / total:.0f}%)"
    if rows:
        parts.append(f"{rows:,} rows")
    parts.append(f"elapsed {_duration(elapsed)}")
    seconds, units = (elapsed, done) if active is None else active
    if total and 0 < done < total and seconds > 0 and units > 0:
        parts.append(f"ETA {_duration(seconds * (total - done) / units)}")
    return f"{label}: " + ", ".join(parts)


class Progress:
    """One long piece of work: ``with Progress("daily sources", total=1258) as p: p.advance()``.

    ``mode``: ``auto`` picks ``bar`` on a TTY stream and ``lines`` otherwise; ``quiet``
    writes nothing to the stream (a ``log`` callback still gets its lines: a Dagster step
    is not the terminal). ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "items",
        *,
        mode: Mode = "auto",
        stream: IO[str] | None = None,
        log: Callable[[str], None] | None = None,
        every: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "lines"
        self.mode = mode
        self.log, self.every, self.clock = log, every, clock
        self.done = self.rows = 0
        self.start = clock()
        self._last_line = self._last_log = self.start
        self._first: tuple[float, int] | None = None  # when, and done, after the first advance
        self._closed = False
        self._bar: tqdm[None] | None = None
        if mode == "bar":
            self._bar = tqdm(
                total=total,
                desc=label,
                unit=f" {unit}",
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
                mininterval=0.2,
            )

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    def line(self) -> str:
        now = self.clock()
        active = None
        if self._first is not None:
            active = (now - self._first[0], self.done - self._first[1])
        return describe(
            self.label, self.done, self.total, self.unit, self.rows, now - self.start, active
        )

    def advance(self, done: int = 1, rows: int = 0) -> None:
        """``done`` more units finished, carrying ``rows`` more rows."""
        self.done += done
        self.rows += rows
        if self._first is None:
            self._first = (self.clock(), self.done)
        if self._bar is not None:
            if rows:
                self._bar.set_postfix_str(f"{self.rows:,} rows", refresh=False)
            self._bar.update(done)
        now = self.clock()
        if self.total is not None and self.done >= self.total:
            return  # the closing line says it
        if self.mode == "lines" and now - self._last_line >= self.every:
            self._write(self.line())
            self._last_line = now
        if self.log is not None and now - self._last_log >= self.every:
            self.log(self.line())
            self._last_log = now

    def set_total(self, total: int) -> None:
        """The total once it is known (a bar without one shows counts only)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self, outcome: str = "done") -> None:
        """The last line (in ``lines`` mode and to ``log``) or the finished bar; once."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        final = f"{self.line()} ({outcome})"
        if self.mode == "lines":
            self._write(final)
        if self.log is not None:
            self.log(final)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close("done" if exc_type is None else "stopped")

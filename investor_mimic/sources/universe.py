"""The security master: built from SEC data, or read from a CSV → UNIVERSE frame.

Why strict: 13F holdings join on CUSIP and Form 4 trades on issuer CIK. A mistyped
CUSIP or a duplicated ticker silently mis-attributes positions, so every row is checked
(CUSIP check digit, CIK digits, uniqueness) and a bad row is named in the error.

Why built, not hand-made: SEC's ``company_tickers.json`` maps CIK ↔ ticker for every
listed company; the CUSIPs come from the tracked filers' own 13F rows (``nameOfIssuer``
→ company name). No free dataset maps CUSIPs to tickers, so the match is made
conservatively (:func:`match_cusips`) and every CUSIP left out is reported with its
reason, never guessed.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from investor_mimic.core import frames

_CUSIP_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*@#"
_SPAN_COLUMNS = ("valid_from", "valid_to")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class UniverseError(ValueError):
    """The universe file is unusable; the message names the file and row."""


def cusip_check_digit(base8: str) -> str:
    """The ninth CUSIP character for the first eight (modulus 10, double-add-double)."""
    if len(base8) != 8 or any(c not in _CUSIP_CHARS for c in base8.upper()):
        raise ValueError(f"not a CUSIP base: {base8!r}")
    total = 0
    for i, char in enumerate(base8.upper()):
        value = _CUSIP_CHARS.index(char)
        if i % 2 == 1:
            value *= 2
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


def cusip_is_valid(cusip: str) -> bool:
    return (
        len(cusip) == 9
        and all(c in _CUSIP_CHARS for c in cusip[:8].upper())
        and cusip[8] == cusip_check_digit(cusip[:8])
    )


def load_universe(path: Path) -> pd.DataFrame:
    """Read and validate the universe CSV; CIKs come out 10-digit zero-padded.

    ``valid_from`` / ``valid_to`` (ISO dates, :mod:`investor_mimic.core.security_master`)
    are optional columns: a file without them, or an empty cell, means listed before the
    data begins / still listed. A ticker may have several rows (a sector change), one
    per ``valid_from``; a CUSIP belongs to one ticker.
    """
    path = Path(path)
    if not path.is_file():
        raise UniverseError(
            f"universe file not found: {path} "
            "(build one from SEC data with `investor-mimic universe build`)"
        )
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    for optional in _SPAN_COLUMNS:
        if optional not in raw.columns:
            raw[optional] = ""
    missing = [c for c in frames.UNIVERSE.columns if c not in raw.columns]
    if missing:
        raise UniverseError(f"{path}: missing columns {missing}")
    frame = raw[list(frames.UNIVERSE.columns)].apply(lambda s: s.str.strip())
    for line, row in enumerate(frame.itertuples(index=False), start=2):  # header is line 1
        where = f"{path} line {line}"
        empty = [c for c in ("ticker", "cik", "cusip") if not getattr(row, c)]
        if empty:
            raise UniverseError(f"{where}: empty {empty}")
        try:
            frames.cik10(row.cik)
        except ValueError:
            raise UniverseError(f"{where}: CIK {row.cik!r} is not up to 10 digits") from None
        if not cusip_is_valid(row.cusip):
            raise UniverseError(f"{where}: CUSIP {row.cusip!r} fails its check digit")
        for col in _SPAN_COLUMNS:
            text = getattr(row, col)
            if text and not _ISO_DATE.fullmatch(text):
                raise UniverseError(f"{where}: {col} {text!r} is not a YYYY-MM-DD date")
    upper = frame[["ticker", "cusip", "valid_from"]].apply(lambda s: s.str.upper())
    upper = upper.reset_index(drop=True)
    # (ticker, valid_from) is a row's key; a CUSIP names one ticker (the 13F join)
    repeated = {
        "ticker": frames.duplicate_keys(upper, ["ticker", "valid_from"], keep="first"),
        "cusip": frames.duplicate_keys(upper, ["cusip"], keep="first")
        & ~frames.duplicate_keys(upper, ["ticker", "cusip"], keep="first"),
    }
    repeats = [(int(i), col) for col, rows in repeated.items() for i in upper.index[rows][:1]]
    if repeats:
        i, col = min(repeats)
        value = upper.at[i, col]
        first = int(upper.index[upper[col] == value][0])
        raise UniverseError(
            f"{path} line {i + 2}: duplicate {col} {value!r} (first on line {first + 2})"
        )
    frame["cik"] = frame["cik"].map(frames.cik10)
    frame["cusip"] = frame["cusip"].str.upper()
    for col in _SPAN_COLUMNS:
        frame[col] = pd.to_datetime(frame[col].replace("", None))
    spans = frames.coerce(frame, frames.UNIVERSE)
    try:
        return frames.checked(spans, frames.UNIVERSE)
    except ValueError as exc:
        raise UniverseError(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------
# Building the universe from SEC data: company_tickers.json + the tracked filers' 13F rows
# ---------------------------------------------------------------------------------------

# Standard Industrial Classification divisions (the SEC assigns every registrant a SIC
# code): the sector of a built universe. Coarser than a commercial sector scheme, but the
# SEC's own and free.
SIC_DIVISIONS: tuple[tuple[int, int, str], ...] = (
    (100, 999, "Agriculture, Forestry and Fishing"),
    (1000, 1499, "Mining"),
    (1500, 1799, "Construction"),
    (2000, 3999, "Manufacturing"),
    (4000, 4999, "Transportation, Communications and Utilities"),
    (5000, 5199, "Wholesale Trade"),
    (5200, 5999, "Retail Trade"),
    (6000, 6799, "Finance, Insurance and Real Estate"),
    (7000, 8999, "Services"),
    (9100, 9729, "Public Administration"),
    (9900, 9999, "Nonclassifiable"),
)
UNKNOWN_SECTOR = "Unknown"

# Legal-form words that 13F filers and EDGAR write differently or drop ("INC" / "Inc." /
# nothing, "DEL" for a Delaware re-incorporation); they never distinguish two companies
# in EDGAR's names on their own, so they are ignored when names are compared.
_LEGAL_WORDS = frozenset(
    {
        "INC",
        "INCORPORATED",
        "CORP",
        "CORPORATION",
        "CO",
        "COMPANY",
        "LTD",
        "LIMITED",
        "PLC",
        "LP",
        "LLC",
        "NV",
        "SA",
        "AG",
        "SE",
        "DEL",
        "NEW",
    }
)
# Words in titleOfClass that mark a security other than common equity: its CUSIP must not
# become the company's ticker.
_NOT_COMMON = frozenset(
    {
        "PFD",
        "PREF",
        "PREFERRED",
        "WT",
        "WTS",
        "WARRANT",
        "WARRANTS",
        "NOTE",
        "NOTES",
        "BOND",
        "BONDS",
        "DEB",
        "DEBT",
        "DBCV",
        "SDCV",
        "CONV",
        "RT",
        "RTS",
        "RIGHT",
        "RIGHTS",
    }
)
# EDGAR's 13F nameOfIssuer is often cut at about 28 characters ("INTERCONTINENTAL
# EXCHANGE IN"); a name this long may be matched as the start of a company's name.
TRUNCATED_FROM = 24


def sic_sector(sic: str | None) -> str:
    """The SIC division of a SIC code; ``Unknown`` when absent or outside every division."""
    if sic is None or not str(sic).strip().isdigit():
        return UNKNOWN_SECTOR
    code = int(str(sic).strip())
    return next((name for lo, hi, name in SIC_DIVISIONS if lo <= code <= hi), UNKNOWN_SECTOR)


def name_words(name: str) -> str:
    """Upper-case words of ``name`` with punctuation as spaces ("Amazon.com, Inc." →
    "AMAZON COM INC")."""
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", str(name).upper()).split())


def name_key(name: str) -> str:
    """``name_words`` without a leading THE and trailing legal-form words."""
    words = name_words(name).split()
    if len(words) > 1 and words[0] == "THE":
        words = words[1:]
    while len(words) > 1 and words[-1] in _LEGAL_WORDS:
        words = words[:-1]
    return " ".join(words)


def is_common_equity(title_of_class: str | None) -> bool:
    words = set(name_words(title_of_class or "").split())
    return not (words & _NOT_COMMON)


@dataclass(frozen=True)
class _Company:
    cik: str
    title: str
    tickers: tuple[str, ...]


def _companies(tickers: pd.DataFrame) -> dict[str, _Company]:
    out: dict[str, _Company] = {}
    for cik, group in tickers.groupby("cik", sort=False):
        out[str(cik)] = _Company(
            str(cik),
            str(group["title"].iloc[0]),
            tuple(dict.fromkeys(str(t) for t in group["ticker"])),
        )
    return out


@dataclass(frozen=True)
class _Match:
    cik: str
    title: str
    tickers: tuple[str, ...]
    exact: bool


def _match_one(
    cusip: str,
    group: pd.DataFrame,
    issuers: list[str],
    companies: dict[str, _Company],
    by_key: dict[str, set[str]],
    by_words: dict[str, set[str]],
    words_of: dict[str, str],
) -> _Match | str:
    """The company of one CUSIP, or the reason it has none."""
    if not cusip_is_valid(cusip):
        return "invalid CUSIP (check digit)"
    shares = group[(group["share_type"] == "SH") & group["put_call"].isna()]
    if shares.empty:
        kinds = sorted(set(group["share_type"].dropna()) | set(group["put_call"].dropna()))
        return f"no share position, only {'/'.join(kinds)} rows"
    share_titles = sorted({str(t) for t in shares["title_of_class"].dropna()})
    if not all(is_common_equity(t) for t in share_titles):
        return f"not common equity (title of class {' / '.join(share_titles)})"
    keys = sorted({name_key(n) for n in shares["issuer"].dropna()})
    if len(keys) != 1:
        return f"filers name it differently: {' / '.join(keys) or 'no name'}"
    exact = True
    words = {name_words(n) for n in shares["issuer"].dropna()}
    # the same words (legal form included) as exactly one company, else the same
    # words but for legal-form words, else (a long name) the start of one company's name
    candidates = {cik for w in words for cik in by_words.get(w, ())}
    if len(candidates) != 1:
        candidates = by_key.get(keys[0], set())
    start = name_words(issuers[0])
    if not candidates and len(start) >= TRUNCATED_FROM:
        candidates = {cik for cik, w in words_of.items() if w.startswith(start)}
        exact = False
    if not candidates:
        return f"no SEC company named like {issuers[0]!r}"
    if len(candidates) > 1:
        listed = ", ".join(
            f"{companies[c].title} (CIK {c}, {'/'.join(companies[c].tickers)})"
            for c in sorted(candidates)
        )
        return f"name matches several companies: {listed}"
    company = companies[next(iter(candidates))]
    if len(company.tickers) != 1:
        return (
            f"{company.title} (CIK {company.cik}) has several tickers "
            f"({', '.join(company.tickers)}): the share class of this CUSIP is unknown"
        )
    return _Match(company.cik, company.title, company.tickers, exact)


MAPPED_COLUMNS = ["cusip", "ticker", "cik", "name", "issuer", "method", "filers"]
UNMAPPED_COLUMNS = ["cusip", "issuer", "title_of_class", "reason", "filers"]


def match_cusips(
    holdings: pd.DataFrame, company_tickers: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CUSIPs of 13F rows → (mapped, unmapped), conservatively.

    ``holdings``: cusip, issuer, title_of_class, share_type, put_call, filer_cik (13F
    rows). ``company_tickers``: cik, ticker, title (SEC's company_tickers.json).

    A CUSIP is mapped only when every filer's issuer name leads to one and the same
    company, that company has exactly one ticker, the security is common equity and no
    other CUSIP claims the ticker. A name matches a company when the names agree but for
    punctuation, case, a leading THE and legal-form words, or, for a name long enough to
    have been cut short, when it is the start of exactly one company's name (a name that
    matches one company word for word, legal form included, wins over looser matches).
    Everything else is returned in ``unmapped`` with the reason: never guessed.
    """
    companies = _companies(company_tickers)
    by_key: dict[str, set[str]] = {}
    for company in companies.values():
        by_key.setdefault(name_key(company.title), set()).add(company.cik)
    words_of = {c.cik: name_words(c.title) for c in companies.values()}
    by_words: dict[str, set[str]] = {}
    for cik, words in words_of.items():
        by_words.setdefault(words, set()).add(cik)

    mapped: list[dict[str, object]] = []
    unmapped: list[dict[str, object]] = []
    rows = holdings.assign(cusip=holdings["cusip"].astype("string").str.strip().str.upper())
    for cusip, group in rows.groupby("cusip", sort=True):
        issuers = sorted({str(n).strip() for n in group["issuer"].dropna()})
        n_filers = int(group["filer_cik"].nunique())
        outcome = _match_one(str(cusip), group, issuers, companies, by_key, by_words, words_of)
        if isinstance(outcome, str):
            titles = sorted({str(t).strip() for t in group["title_of_class"].dropna()})
            unmapped.append(
                {
                    "cusip": cusip,
                    "issuer": " / ".join(issuers),
                    "title_of_class": " / ".join(titles),
                    "reason": outcome,
                    "filers": n_filers,
                }
            )
        else:
            mapped.append(
                {
                    "cusip": cusip,
                    "ticker": outcome.tickers[0],
                    "cik": outcome.cik,
                    "name": outcome.title,
                    "issuer": " / ".join(issuers),
                    "method": "name" if outcome.exact else "name start (cut short)",
                    "filers": n_filers,
                }
            )

    found = pd.DataFrame(mapped, columns=MAPPED_COLUMNS)
    claimed = found.groupby("ticker")["cusip"].transform("nunique") > 1
    for _, row in found[claimed].iterrows():
        others = sorted(set(found.loc[found["ticker"] == row["ticker"], "cusip"]) - {row["cusip"]})
        unmapped.append(
            {
                "cusip": row["cusip"],
                "issuer": row["issuer"],
                "title_of_class": " / ".join(
                    sorted(
                        {
                            str(t)
                            for t in rows.loc[
                                rows["cusip"] == row["cusip"], "title_of_class"
                            ].dropna()
                        }
                    )
                ),
                "reason": f"ticker {row['ticker']} is also claimed by CUSIP {', '.join(others)}",
                "filers": row["filers"],
            }
        )
    found = found[~claimed].sort_values("ticker", ignore_index=True)
    missing = pd.DataFrame(unmapped, columns=UNMAPPED_COLUMNS).sort_values(
        ["reason", "cusip"], ignore_index=True
    )
    return found, missing


@dataclass(frozen=True)
class UniverseBuild:
    """A built universe with its evidence: which CUSIP became which ticker and how, which
    CUSIPs were left out and why, and what it was built from."""

    universe: pd.DataFrame  # frames.UNIVERSE
    mapped: pd.DataFrame  # MAPPED_COLUMNS
    unmapped: pd.DataFrame  # UNMAPPED_COLUMNS
    info: dict[str, Any]


class _Edgar(Protocol):
    """The parts of :class:`investor_mimic.sources.edgar.EdgarClient` the builder uses."""

    def company_tickers(self) -> pd.DataFrame: ...
    def submissions(self, cik: str, *, filed_since: date | None = None) -> Any: ...
    def filing_text(self, cik: str, accession: str) -> bytes: ...


THIRTEENF_FORMS = ("13F-HR", "13F-HR/A")


def filer_holdings(
    client: _Edgar, filer_ciks: Sequence[str], periods: int = 1
) -> tuple[pd.DataFrame, list[str]]:
    """The 13F rows of each filer's latest ``periods`` report periods (originals and
    amendments), and the accessions read."""
    from investor_mimic.parsing.errors import FilingError
    from investor_mimic.parsing.extract import holdings_frame

    parts: list[pd.DataFrame] = []
    accessions: list[str] = []
    for cik in filer_ciks:
        subs = client.submissions(cik)
        refs = [r for r in subs.filings if r.form in THIRTEENF_FORMS and r.report_date]
        wanted = sorted({r.report_date for r in refs})[-periods:]
        for ref in sorted(r for r in refs if r.report_date in wanted):
            text = client.filing_text(ref.cik, ref.accession)
            try:
                frame = holdings_frame(
                    text, {}, filer_cik=ref.cik, filer_name=subs.name, accession=ref.accession
                )
            except FilingError as exc:
                raise UniverseError(f"13F {ref.accession} of CIK {ref.cik}: {exc}") from exc
            parts.append(
                frame[["cusip", "issuer", "title_of_class", "share_type", "put_call", "filer_cik"]]
            )
            accessions.append(ref.accession)
    if not parts:
        raise UniverseError(
            f"no 13F-HR filings found for the tracked filers {list(filer_ciks)}: nothing to map"
        )
    return pd.concat(parts, ignore_index=True), accessions


def build_universe(
    client: _Edgar, filer_ciks: Sequence[str], *, periods: int = 1, source: str = ""
) -> UniverseBuild:
    """The universe of what the tracked filers hold: CUSIPs from their latest 13F rows,
    tickers and CIKs from SEC's company_tickers.json, sectors from each company's SIC code
    (its EDGAR submissions). ``source`` names where EDGAR was read (for the record)."""
    if not filer_ciks:
        raise UniverseError("no tracked filers (set IM_TRACKED_FILERS): nothing to build from")
    if periods < 1:
        raise UniverseError(f"periods must be at least 1, got {periods}")
    holdings, accessions = filer_holdings(client, filer_ciks, periods)
    company_tickers = client.company_tickers()
    mapped, unmapped = match_cusips(holdings, company_tickers)
    sectors = {cik: sic_sector(client.submissions(cik).sic) for cik in mapped["cik"]}
    # company_tickers.json has no listing dates: every row is "listed throughout"
    # (core.security_master says what that means for history)
    universe = mapped.assign(sector=mapped["cik"].map(sectors), valid_from=None, valid_to=None)
    universe = universe[list(frames.UNIVERSE.columns)]
    universe = frames.coerce(universe.sort_values("ticker", ignore_index=True), frames.UNIVERSE)
    info = {
        "source": source,
        "built_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "filers": list(filer_ciks),
        "periods": periods,
        "filings": accessions,
        "company_tickers": len(company_tickers),
        "cusips": int(holdings["cusip"].nunique()),
        "mapped": len(universe),
        "unmapped": len(unmapped),
    }
    return UniverseBuild(universe, mapped, unmapped, info)


UNIVERSE_FILE = "universe.csv"


def write_build(build: UniverseBuild, folder: Path) -> Path:
    """Write ``universe.csv`` (loadable by :func:`load_universe`), ``mapping.csv``,
    ``unmapped.csv`` and ``build.json`` into ``folder`` as a whole: the files go to a
    temporary folder first, which then replaces ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        build.universe.to_csv(tmp / UNIVERSE_FILE, index=False)
        build.mapped.to_csv(tmp / "mapping.csv", index=False)
        build.unmapped.to_csv(tmp / "unmapped.csv", index=False)
        (tmp / "build.json").write_text(json.dumps(build.info, indent=1) + "\n")
        load_universe(tmp / UNIVERSE_FILE)  # what the pipeline will read must load
        old = folder.with_name(f".{folder.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder / UNIVERSE_FILE


def read_build(folder: Path) -> UniverseBuild:
    """A universe written by :func:`write_build`."""
    folder = Path(folder)
    if not (folder / "build.json").is_file():
        raise UniverseError(
            f"no built universe in {folder}; build one with `investor-mimic universe build`"
        )
    universe = load_universe(folder / UNIVERSE_FILE)
    mapped = pd.read_csv(folder / "mapping.csv", dtype=str, keep_default_na=False)
    unmapped = pd.read_csv(folder / "unmapped.csv", dtype=str, keep_default_na=False)
    return UniverseBuild(
        universe, mapped, unmapped, json.loads((folder / "build.json").read_text())
    )

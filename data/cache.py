"""Local cache of live refreshes: dated Parquet snapshots, written atomically.

Layout under the cache folder (``$KOSMOS_CACHE_DIR``, else
``$XDG_CACHE_HOME/kosmos``, else ``~/.cache/kosmos``)::

    snapshots/20261124T101500123456Z/statements.parquet
                                    /market.parquet
                                    /outcomes.parquet   (ticker, status, message, name, fetched_at,
                                                         trailing_status, trailing_message, sector)
                                    /fx.parquet
                                    /trailing.parquet   (TTM flows + latest quarterly balance sheet;
                                                         absent in snapshots written before it existed)
    quarantine/                      corrupt snapshots set aside, never deleted
    added.json                       the companies added by the user (and the ones removed), atomic

Every refresh is one snapshot, so the history of refreshes is kept and later
work can show how a company's scores moved. A snapshot is written into a
``.tmp-*`` folder and renamed into place in one ``os.replace``: a crash
mid-write leaves only an ignored temp folder and the previous data readable.

Reading folds the snapshots newest first and takes, per ticker, the newest
snapshot in which that ticker was fetched *successfully*: a failed or empty
answer never replaces good data. The trailing tables follow the same rule on
their own outcome (``trailing_status`` "ok" or "partial"): a refresh whose
trailing answer failed or came back empty keeps the older trailing rows. A snapshot that cannot be read, lacks a
column or whose ``fetched_at`` cannot be parsed is moved to ``quarantine/``
(with a read-only cache: skipped) and the view is rebuilt from the others.
Rows of a readable snapshot pass the canonical schema row by row
(:func:`data.schema.row_problems`: ticker pattern, finite values, known
fields...); a row that breaks it is dropped and listed in ``CachedView.refused``.

A write that fails (disk full, read-only folder, any error or interrupt)
removes its temp folder and raises :class:`CacheWriteError` with the reason;
temp folders left by a killed process are removed by the next write once they
are older than :data:`STALE_TEMP_AFTER`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from data.identities import concat_refused, empty_refused, refused_rows
from data.live import GOOD_STATUSES, TRAILING_BALANCE, TRAILING_COLUMNS, TRAILING_FLOWS, RefreshResult, empty_trailing
from data.schema import empty_market, empty_statements, is_ticker, row_problems

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=24)
#: a temp folder older than this belongs to a crashed or killed write, never to one still running
STALE_TEMP_AFTER = timedelta(minutes=30)
_FILES = ("statements", "market", "outcomes", "fx")
#: files a snapshot may lack (written before they existed): read as empty
_OPTIONAL_FILES = ("trailing",)
#: outcomes columns a snapshot may lack, and their value then
_OPTIONAL_OUTCOMES = {"trailing_status": "", "trailing_message": "", "sector": ""}
ADDED_FILE = "added.json"


class CacheWriteError(OSError):
    """A refresh could not be stored (disk full, read-only folder...); the cache is as it was before."""


def default_cache_dir() -> Path:
    """``$KOSMOS_CACHE_DIR``, else the user's cache folder + ``kosmos``."""
    env = os.environ.get("KOSMOS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kosmos"


@dataclass
class CachedView:
    """The freshest good cached data per ticker."""

    statements: pd.DataFrame
    market: pd.DataFrame
    tickers: pd.DataFrame  # ticker, name, fetched_at, status, message, sector
    fx: pd.DataFrame  # currency, usd_per_unit, as_of, source
    quarantined: list[str]
    #: corrupt snapshots that could not be moved aside (read-only cache): skipped, 'name: reason'
    skipped: list[str] = field(default_factory=list)
    #: snapshot rows dropped for breaking the schema (columns: data.identities.REFUSED_COLUMNS)
    refused: pd.DataFrame = field(default_factory=empty_refused)
    #: the freshest good trailing rows per ticker (data.live.TRAILING_COLUMNS)
    trailing: pd.DataFrame = field(default_factory=empty_trailing)
    #: ticker, fetched_at, trailing_status, trailing_message of those rows
    trailing_tickers: pd.DataFrame = field(default_factory=lambda: _empty_trailing_tickers())

    @property
    def empty(self) -> bool:
        return self.tickers.empty


def _empty_tickers() -> pd.DataFrame:
    return pd.DataFrame(
        {"ticker": pd.Series(dtype=str), "name": pd.Series(dtype=str),
         "fetched_at": pd.Series(dtype="datetime64[ns, UTC]"), "status": pd.Series(dtype=str),
         "message": pd.Series(dtype=str), "sector": pd.Series(dtype=str)}
    )


def _empty_trailing_tickers() -> pd.DataFrame:
    return pd.DataFrame({"ticker": pd.Series(dtype=str), "fetched_at": pd.Series(dtype="datetime64[ns, UTC]"),
                         "trailing_status": pd.Series(dtype=str), "trailing_message": pd.Series(dtype=str)})


def _empty_fx() -> pd.DataFrame:
    return pd.DataFrame({"currency": pd.Series(dtype=str), "usd_per_unit": pd.Series(dtype=float),
                         "as_of": pd.Series(dtype=str), "source": pd.Series(dtype=str)})


@dataclass
class AddedList:
    """The companies added by the user (ticker -> entry, in the order added) and those removed since.

    An entry holds ``ticker, name, sector, industry, country, quote_type, added_at``
    (strings; Yahoo's words). A removed ticker's cached data is ignored unless it
    is in the embedded universe or added again.
    """

    companies: dict[str, dict] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    error: str | None = None

    KEYS = ("ticker", "name", "sector", "industry", "country", "quote_type", "added_at")

    @classmethod
    def clean_entry(cls, entry: dict) -> dict:
        out = {}
        for k in cls.KEYS:
            v = entry.get(k)
            out[k] = v.strip()[:80] if isinstance(v, str) and v.strip() else None
        return out

    @classmethod
    def parse(cls, data) -> "AddedList":
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        companies = {}
        for entry in data.get("added") or []:
            if isinstance(entry, dict) and is_ticker(entry.get("ticker")):
                companies[entry["ticker"]] = cls.clean_entry(entry)
        removed = {t for t in (data.get("removed") or []) if is_ticker(t) and t not in companies}
        return cls(companies, removed)

    def as_json(self) -> dict:
        return {"version": 1, "added": list(self.companies.values()), "removed": sorted(self.removed)}

    @property
    def tickers(self) -> list[str]:
        return list(self.companies)


class Cache:
    """Snapshot store for live refreshes."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.snapshots = self.root / "snapshots"
        self.quarantine = self.root / "quarantine"

    # ------------------------------------------------------------------ writing
    def write(self, result: RefreshResult, fx_rates: dict[str, float] | None = None) -> Path | None:
        """Store one refresh as a dated snapshot; returns its folder.

        Nothing is written when no ticker was fetched successfully (an offline
        or fully failed refresh leaves the cache exactly as it was). A failed
        write leaves no temp folder behind and raises :class:`CacheWriteError`;
        an interrupt (KeyboardInterrupt, SystemExit) is re-raised after the cleanup.
        """
        if not result.good_tickers:
            return None
        self._remove_stale_temp()
        tmp: Path | None = None
        try:
            self.snapshots.mkdir(parents=True, exist_ok=True)
            final = self._final_path(result)
            tmp = self.snapshots / f".tmp-{final.name}-{uuid.uuid4().hex[:6]}"
            tmp.mkdir()
            for name, frame in _snapshot_frames(result, fx_rates).items():
                _write_parquet(frame, tmp / f"{name}.parquet")
            os.replace(tmp, final)  # the atomic step
            tmp = None
        except BaseException as exc:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, Exception):
                raise CacheWriteError(f"the refresh could not be saved to {self.snapshots} "
                                      f"({type(exc).__name__}: {exc}); the cache was left as it was") from exc
            raise
        _fsync_dir(self.snapshots)
        return final

    def _final_path(self, result: RefreshResult) -> Path:
        """The snapshot folder for ``result`` (its fetch time, made unique)."""
        stamp = result.fetched_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        final = self.snapshots / stamp
        return self.snapshots / f"{stamp}-{uuid.uuid4().hex[:6]}" if final.exists() else final

    def _remove_stale_temp(self, older_than: timedelta = STALE_TEMP_AFTER) -> int:
        """Remove temp folders of crashed writes older than ``older_than`` (a running write's is younger)."""
        n = 0
        cutoff = datetime.now(timezone.utc).timestamp() - older_than.total_seconds()
        try:
            temps = [p for p in self.snapshots.iterdir() if p.name.startswith(".tmp-")]
        except OSError:  # no snapshots folder yet, or an unreadable one
            return 0
        for p in temps:
            try:
                if p.stat().st_mtime < cutoff:
                    shutil.rmtree(p, ignore_errors=True)
                    n += 1
            except OSError:
                continue
        return n

    # ------------------------------------------------------------------ reading
    def snapshot_dirs(self) -> list[Path]:
        """Complete snapshots, newest first (temp folders of crashed writes are ignored)."""
        if not self.snapshots.is_dir():
            return []
        return sorted(
            (p for p in self.snapshots.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name,
            reverse=True,
        )

    def _read_snapshot(self, folder: Path) -> dict[str, pd.DataFrame]:
        snap = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _FILES}
        for name in _OPTIONAL_FILES:  # an older snapshot without it: nothing of that kind was fetched
            path = folder / f"{name}.parquet"
            snap[name] = pd.read_parquet(path) if path.exists() else empty_trailing()
        return snap

    def _set_aside(self, folder: Path, reason: str) -> bool:
        """Move a corrupt snapshot to ``quarantine/`` with a REASON.txt; False when it cannot be moved
        (read-only cache), in which case it stays where it is and is skipped by every read."""
        target = self.quarantine / f"{folder.name}-{uuid.uuid4().hex[:6]}"
        try:
            self.quarantine.mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(target))
        except OSError as exc:
            log.warning("corrupt cache snapshot %s skipped, could not be moved aside: %s", folder.name, exc)
            return False
        try:  # when and why, so every session (not only the one that found it) can say so
            (target / "REASON.txt").write_text(f"{datetime.now(timezone.utc).isoformat()}\n{folder.name}: {reason}\n")
        except OSError:  # pragma: no cover
            pass
        log.warning("corrupt cache snapshot %s set aside: %s", folder.name, reason)
        return True

    def recently_set_aside(self, now: datetime | None = None, within: timedelta = STALE_AFTER) -> list[str]:
        """Snapshots set aside as corrupt in the last ``within`` (default 24 h): 'name: reason'."""
        now = now or datetime.now(timezone.utc)
        found = []
        if not self.quarantine.is_dir():
            return found
        for reason_file in sorted(self.quarantine.glob("*/REASON.txt")):
            try:
                when, what = reason_file.read_text().split("\n", 1)
                if now - datetime.fromisoformat(when) <= within:
                    found.append(what.strip())
            except (OSError, ValueError):
                continue
        return found

    def read(self, before_newest: bool = False) -> CachedView:
        """Freshest good data per ticker over all snapshots; never raises on bad files.

        ``before_newest``: as the cache stood before its newest snapshot (what the
        last refresh replaced), for "changed since the last refresh".
        """
        taken: set[str] = set()
        trailing_taken: set[str] = set()
        st_parts, mk_parts, tk_rows, fx_parts, refused = [], [], [], [], []
        tr_parts, tr_rows = [], []
        quarantined: list[str] = []
        skipped: list[str] = []
        fx_seen: set[str] = set()
        for folder in self.snapshot_dirs()[1 if before_newest else 0:]:
            try:
                snap, dropped = _screened(self._read_snapshot(folder), folder.name)
            except Exception as exc:  # noqa: BLE001 - any unreadable or undatable file is corruption
                reason = f"{type(exc).__name__}: {str(exc)[:80]}"
                (quarantined if self._set_aside(folder, reason) else skipped).append(f"{folder.name}: {reason}")
                continue
            refused.append(dropped)
            outcomes = snap["outcomes"]
            good = outcomes[outcomes["status"].isin(GOOD_STATUSES) & ~outcomes["ticker"].isin(taken)]
            if not good.empty:
                new = set(good["ticker"])
                st = snap["statements"]
                st_parts.append(st[st["ticker"].isin(new)])
                mk = snap["market"]
                mk_parts.append(mk[mk["ticker"].isin(new)])
                tk_rows.append(good[["ticker", "name", "fetched_at", "status", "message", "sector"]])
                taken |= new
            good_tr = outcomes[outcomes["trailing_status"].isin(GOOD_STATUSES) & ~outcomes["ticker"].isin(trailing_taken)]
            if not good_tr.empty:  # trailing rows: the newest good trailing answer per ticker, on its own
                new = set(good_tr["ticker"])
                tr = snap["trailing"]
                tr_parts.append(tr[tr["ticker"].isin(new)])
                tr_rows.append(good_tr[["ticker", "fetched_at", "trailing_status", "trailing_message"]])
                trailing_taken |= new
            fx = snap["fx"]
            fx = fx[~fx["currency"].isin(fx_seen)]
            if not fx.empty:
                fx_parts.append(fx)
                fx_seen |= set(fx["currency"])
        statements = pd.concat(st_parts, ignore_index=True) if st_parts else empty_statements()
        market = pd.concat(mk_parts, ignore_index=True) if mk_parts else empty_market()
        tickers = pd.concat(tk_rows, ignore_index=True) if tk_rows else _empty_tickers()
        fx_all = pd.concat(fx_parts, ignore_index=True) if fx_parts else _empty_fx()
        trailing = pd.concat(tr_parts, ignore_index=True) if tr_parts else empty_trailing()
        trailing_tickers = pd.concat(tr_rows, ignore_index=True) if tr_rows else _empty_trailing_tickers()
        return CachedView(statements, market, tickers, fx_all, quarantined, skipped, concat_refused(refused),
                          trailing, trailing_tickers)

    def history(self) -> pd.DataFrame:
        """One row per snapshot and ticker: when it was refreshed and how it went."""
        rows = []
        for folder in self.snapshot_dirs():
            try:
                out = pd.read_parquet(folder / "outcomes.parquet")
            except Exception:  # noqa: BLE001
                continue
            out = out.assign(snapshot=folder.name)
            rows.append(out)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
            columns=["ticker", "status", "message", "name", "fetched_at", "snapshot"])

    # ------------------------------------------------------------------ companies added by the user
    @property
    def added_path(self) -> Path:
        return self.root / ADDED_FILE

    def added(self) -> "AddedList":
        """The companies the user added, and the ones removed since; never raises.

        A file that cannot be parsed is moved aside (``added.json.corrupt-*``) and
        read as an empty list, with the reason in ``AddedList.error``.
        """
        path = self.added_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return AddedList()
        except OSError as exc:
            return AddedList(error=f"{ADDED_FILE} unreadable ({type(exc).__name__})")
        try:
            return AddedList.parse(json.loads(raw.decode("utf-8")))
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            aside = path.with_name(f"{ADDED_FILE}.corrupt-{uuid.uuid4().hex[:6]}")
            try:
                os.replace(path, aside)
            except OSError:
                pass
            log.warning("%s unreadable (%s): set aside as %s", ADDED_FILE, exc, aside.name)
            return AddedList(error=f"{ADDED_FILE} was unreadable ({type(exc).__name__}) and was set aside as "
                                   f"{aside.name}; the list of added companies starts empty")

    def record_added(self, entry: dict) -> "AddedList":
        """Add (or update) one company in the added list; it is no longer 'removed'. Atomic; returns the list."""
        ticker = entry.get("ticker")
        if not is_ticker(ticker):
            raise ValueError(f"not a ticker symbol: {str(ticker)[:20]!r}")
        with self._added_lock():
            lst = self.added()
            lst.companies[ticker] = AddedList.clean_entry(entry)
            lst.removed.discard(ticker)
            self._write_added(lst)
        return lst

    def record_removed(self, ticker: str) -> bool:
        """Remove one added company (its cached snapshots stay, unused); False when it was not added."""
        with self._added_lock():
            lst = self.added()
            if ticker not in lst.companies:
                return False
            del lst.companies[ticker]
            lst.removed.add(ticker)
            self._write_added(lst)
        return True

    def _write_added(self, lst: "AddedList") -> None:
        """Write the list to a temp file and rename it into place (a crash leaves the old list)."""
        tmp = self.root / f".{ADDED_FILE}.{uuid.uuid4().hex[:6]}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(lst.as_json(), fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.added_path)
        except BaseException as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            if isinstance(exc, Exception):
                raise CacheWriteError(f"the list of added companies could not be saved to {self.added_path} "
                                      f"({type(exc).__name__}: {exc}); it was left as it was") from exc
            raise
        _fsync_dir(self.root)

    @contextmanager
    def _added_lock(self):
        """One writer of the added list at a time (two sessions adding at once lose nothing)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(self.root / f".{ADDED_FILE}.lock", "a+")
        except OSError as exc:
            raise CacheWriteError(f"the cache folder {self.root} is not writable ({type(exc).__name__}: {exc})") from exc
        try:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def cleanup_temp(self) -> int:
        """Remove temp folders left by crashed writes; returns how many."""
        n = 0
        if self.snapshots.is_dir():
            for p in self.snapshots.iterdir():
                if p.name.startswith(".tmp-"):
                    shutil.rmtree(p, ignore_errors=True)
                    n += 1
        return n


def _snapshot_frames(result: RefreshResult, fx_rates: dict[str, float] | None) -> dict[str, pd.DataFrame]:
    """The four tables of one snapshot (see the module docstring)."""
    outcomes = pd.DataFrame(
        [{"ticker": o.ticker, "status": o.status, "message": o.message,
          "name": result.names.get(o.ticker, ""), "fetched_at": result.fetched_at,
          "trailing_status": o.trailing, "trailing_message": o.trailing_message,
          "sector": (result.profiles.get(o.ticker) or {}).get("sector") or ""}
         for o in result.outcomes.values() if is_ticker(o.ticker)]  # a refused symbol is never stored
    )
    trailing = result.trailing if result.trailing is not None and not result.trailing.empty else empty_trailing()
    good_trailing = {o.ticker for o in result.outcomes.values() if o.good and o.trailing_good}
    trailing = trailing[trailing["ticker"].isin(good_trailing)][TRAILING_COLUMNS].reset_index(drop=True)
    fx = pd.DataFrame(
        [{"currency": c, "usd_per_unit": r, "as_of": result.fetched_at.strftime("%Y-%m-%d"),
          "source": f"https://finance.yahoo.com/quote/{c}USD=X"} for c, r in (fx_rates or {}).items()],
        columns=["currency", "usd_per_unit", "as_of", "source"],
    )
    return {"statements": result.statements, "market": result.market, "outcomes": outcomes, "fx": fx,
            "trailing": trailing}


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` and flush it to disk."""
    frame.to_parquet(path, index=False)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _screened(snap: dict[str, pd.DataFrame], name: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """A readable snapshot with every row that breaks the schema dropped, and those rows as refused rows.

    Raises when a table lacks a column or ``fetched_at`` cannot be parsed: the whole snapshot is corrupt.
    """
    _check_columns(snap)
    outcomes = snap["outcomes"].copy()
    outcomes["fetched_at"] = pd.to_datetime(outcomes["fetched_at"], utc=True)  # raises on an undatable snapshot
    if outcomes["fetched_at"].isna().any():
        raise ValueError("outcomes.parquet has a missing fetched_at")
    for col, default in _OPTIONAL_OUTCOMES.items():  # written before the column existed
        outcomes[col] = outcomes[col].fillna(default).astype(str) if col in outcomes else default
    outcomes.loc[~outcomes["status"].isin(GOOD_STATUSES), "trailing_status"] = ""  # only with good annual data
    snap = {**snap, "outcomes": outcomes}
    out, dropped = {}, []
    for table, frame in snap.items():
        problems = _trailing_problems(frame) if table == "trailing" else row_problems(frame, table)
        bad = problems != ""
        out[table] = frame[~bad]
        if bad.any():
            dropped.append(_as_refused(table, frame[bad], "snapshot " + name + ": " + problems[bad]))
    return out, concat_refused(dropped)


#: the value column shown for a refused row of each snapshot table
_VALUE_COLUMN = {"statements": "value", "market": "market_cap", "fx": "usd_per_unit", "trailing": "value"}


def _as_refused(table: str, rows: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Snapshot rows that break the schema as refused rows (origin "cache")."""
    column = _VALUE_COLUMN.get(table)
    value = rows[column] if column in rows else pd.Series(float("nan"), index=rows.index)
    fld = rows["field"] if "field" in rows else (column or "row")
    return refused_rows(table, rows, fld, value, reasons, "cache")


def _trailing_problems(frame: pd.DataFrame) -> pd.Series:
    """Per trailing row, why it breaks the rules: the statements rules plus a known ``statement``."""
    if frame.empty:
        return pd.Series("", index=frame.index, dtype=object)
    problems = row_problems(frame, "statements")
    bad = ~frame["statement"].isin([TRAILING_FLOWS, TRAILING_BALANCE])
    problems[bad] = problems[bad].map(lambda p: f"{p}; statement is not ttm or quarterly balance" if p
                                      else "statement is not ttm or quarterly balance")
    return problems


def _check_columns(snap: dict[str, pd.DataFrame]) -> None:
    need = {
        "statements": set(empty_statements().columns),
        "market": set(empty_market().columns),
        "outcomes": {"ticker", "status", "message", "name", "fetched_at"},
        "fx": {"currency", "usd_per_unit", "as_of", "source"},
        "trailing": set(TRAILING_COLUMNS),
    }
    for name, cols in need.items():
        missing = cols - set(snap[name].columns)
        if missing:
            raise ValueError(f"{name}.parquet lacks columns {sorted(missing)}")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def is_stale(fetched_at: datetime | pd.Timestamp, now: datetime | None = None) -> bool:
    """True when data fetched at ``fetched_at`` is older than 24 hours."""
    now = now or datetime.now(timezone.utc)
    return (pd.Timestamp(now) - pd.Timestamp(fetched_at)) > pd.Timedelta(STALE_AFTER)

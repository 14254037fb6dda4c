"""ThreatIntelFeedService: fetch the configured feeds, merge them, keep the IOC map current.

A refresh cycle (contract §7.6, with the differences listed in docs/deviations.md):
1. fetch the feeds that are due (a full refresh: every enabled feed), several at once;
2. parse each document with its format's domain parser (every IOC action is ``alert`` here);
3. a feed whose fetch or parse fails, or whose document suddenly holds no IOC while its
   previous copy had some, keeps its last good copy and counts a failure; a 304 keeps the copy
   and counts a success;
4. merge the last good copy of every enabled feed with ``IocDatabase`` (per-feed
   ``min_confidence`` and ``max_iocs``, one entry per indicator, the global cap), set every
   action to ``block`` when ``threatintel.mode`` is block, and ``IocMap.load`` the result once —
   only when something changed.

Schedule: every feed is due ``refresh_interval_secs`` (at least ``min_interval``, 60 s) after its
last fetch, plus up to 10 % random jitter; a failed feed is retried sooner (60 s, doubling, never
later than its interval). All feeds are fetched when the worker starts and on ``refresh_now``.
Reconfiguration (a config reload) is applied by the next cycle, which starts at once: feeds that
are new or whose source changed are fetched, removed and disabled ones leave the set.

One cycle runs at a time (``refresh`` holds a lock), so the IOC map has a single writer.
"""

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sentinel_domain.threatintel import (
    FeedConfig,
    FeedIocs,
    Ioc,
    IocAction,
    IocDatabase,
    ThreatIntelConfig,
    ThreatIntelError,
    parse_feed,
)
from sentinel_ports.feed_fetcher import DEFAULT_MAX_FEED_BYTES, FeedFetcher, FeedFetchError, FeedRequest
from sentinel_ports.ioc_map import IocLoadReport, IocMap

MIN_REFRESH_SECS = 60.0  # contract: the refresh timer's floor
RETRY_SECS = 60.0  # first retry of a failed feed; doubles per failure in a row, capped at the interval
JITTER = 0.1  # up to +10 % on every delay, so feeds (and agents) do not fetch in lockstep
MAX_PARALLEL_FETCHES = 4
SUCCESS, FAILURE = "success", "failure"


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What one fetch of one feed did. ``iocs``: IOCs in the feed's copy now in use."""

    feed_id: str
    ok: bool
    detail: str
    iocs: int = 0
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """One cycle: the feeds fetched, the IOCs now enforced (``loaded`` None: the set was unchanged)."""

    outcomes: tuple[FeedOutcome, ...]
    total_iocs: int
    loaded: IocLoadReport | None = None

    @property
    def message(self) -> str:
        ok = sum(o.ok for o in self.outcomes)
        failed = [o.feed_id for o in self.outcomes if not o.ok]
        text = f"{len(self.outcomes)} feed(s) refreshed: {ok} ok, {len(failed)} failed"
        if failed:
            text += f" ({', '.join(failed)})"
        return f"{text}; {self.total_iocs} IOCs loaded"


@dataclass(slots=True)
class FeedState:
    """What the service holds for one configured feed."""

    feed: FeedConfig
    iocs: Sequence[Ioc] = ()
    has_copy: bool = False
    etag: str | None = None
    last_modified: str | None = None
    last_fetched_ms: int | None = None
    last_error: str | None = None
    next_due: float = 0.0  # clock seconds; 0 = at once
    failures_in_row: int = 0
    successes: int = 0
    failures: int = 0


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A fetch's result: parsed IOCs (None: not modified) or an error, and the new validators."""

    iocs: Sequence[Ioc] | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def _source(feed: FeedConfig) -> FeedConfig:
    """The fields that decide what a fetch returns and how it parses (a change means refetch)."""
    return dataclasses.replace(
        feed, name="", enabled=True, refresh_interval_secs=1, min_confidence=0, max_iocs=1
    )


class ThreatIntelFeedService:
    """See the module docstring. ``on_outcome`` hears about every fetch (for logs);
    ``on_loaded`` gets every IOC set loaded (for consumers of domains and URLs)."""

    def __init__(
        self,
        config: ThreatIntelConfig,
        fetcher: FeedFetcher,
        iocs: IocMap,
        *,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        min_interval: float = MIN_REFRESH_SECS,
        max_feed_bytes: int = DEFAULT_MAX_FEED_BYTES,
        on_outcome: Callable[[FeedOutcome], None] = lambda _: None,
        on_loaded: Callable[[Sequence[Ioc]], None] = lambda _: None,
    ) -> None:
        self._fetcher = fetcher
        self._iocs = iocs
        self._clock = clock
        self._rand = rand
        self._min_interval = min_interval
        self._max_feed_bytes = max_feed_bytes
        self._on_outcome = on_outcome
        self._on_loaded = on_loaded
        self._config = ThreatIntelConfig(mode=config.mode)
        self._states: dict[str, FeedState] = {}
        self._pending: ThreatIntelConfig | None = config
        self._dirty = False
        self._cycle_lock = threading.Lock()
        self._lock = threading.Condition()
        self._full_requested = False
        self._started_cycles = 0  # cycles begun (each gets this number)
        self._full_done = 0  # number of the last full cycle that finished
        self._last_report: RefreshReport | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.loaded_iocs: tuple[Ioc, ...] = ()

    # -- views ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    @property
    def last_fetched(self) -> dict[str, int]:
        """Feed id → epoch milliseconds of its last successful fetch (a 304 counts)."""
        with self._lock:
            return {i: s.last_fetched_ms for i, s in self._states.items() if s.last_fetched_ms is not None}

    def states(self) -> dict[str, FeedState]:
        with self._lock:
            return {i: dataclasses.replace(s) for i, s in self._states.items()}

    def reload_counts(self) -> dict[tuple[str, str], int]:
        """(feed id, success|failure) → fetches, for ``rules_reloads_total{component=<feed>}``."""
        with self._lock:
            out: dict[tuple[str, str], int] = {}
            for feed_id, state in self._states.items():
                out[(feed_id, SUCCESS)] = state.successes
                out[(feed_id, FAILURE)] = state.failures
            return out

    # -- configuration ---------------------------------------------------------------------------
    def reconfigure(self, config: ThreatIntelConfig) -> None:
        """Use ``config`` from the next cycle on, and start that cycle now when the worker runs."""
        with self._lock:
            self._pending = config
            self._lock.notify_all()

    def _merge_inputs(self) -> tuple[object, ...]:
        """What the merged set depends on besides fetched data (a change means reload)."""
        return (
            self._config.mode,
            tuple(
                (i, s.feed.enabled, s.feed.min_confidence, s.feed.max_iocs, id(s.iocs) if s.has_copy else 0)
                for i, s in self._states.items()
            ),
        )

    def _apply_pending(self) -> None:
        with self._lock:
            config, self._pending = self._pending, None
            if config is None:
                return
            before = self._merge_inputs()
            states: dict[str, FeedState] = {}
            for feed in config.feeds:
                state = self._states.get(feed.id)
                if state is None or _source(state.feed) != _source(feed):
                    state = FeedState(feed)  # new, or another source: fetched by the next cycle
                elif state.feed != feed:
                    if state.last_fetched_ms is not None and state.failures_in_row == 0:
                        due = state.last_fetched_ms / 1000 + self._interval(feed)
                        state.next_due = min(state.next_due, due)
                    state.feed = feed
                states[feed.id] = state
            self._config = config
            self._states = states
            self._dirty = self._dirty or self._merge_inputs() != before

    # -- cycles ----------------------------------------------------------------------------------
    def due(self, now: float) -> list[str]:
        """Ids of the enabled feeds whose next fetch is due at ``now``."""
        with self._lock:
            return [i for i, s in self._states.items() if s.feed.enabled and s.next_due <= now]

    def refresh(self, feed_ids: Iterable[str] | None = None) -> RefreshReport:
        """Run one cycle in the calling thread: fetch ``feed_ids`` (None: every enabled feed),
        merge and load. Pending reconfiguration is applied first."""
        with self._cycle_lock:
            with self._lock:
                self._started_cycles += 1
                number = self._started_cycles
            self._apply_pending()
            wanted = None if feed_ids is None else set(feed_ids)
            with self._lock:
                targets = [
                    dataclasses.replace(s)
                    for i, s in self._states.items()
                    if s.feed.enabled and (wanted is None or i in wanted)
                ]
                mode = self._config.mode
            outcomes: list[FeedOutcome] = []
            if targets:
                with ThreadPoolExecutor(min(MAX_PARALLEL_FETCHES, len(targets)), "feed-fetch") as pool:
                    results = list(pool.map(self._fetch_one, targets))
                outcomes = [self._record(t.feed, r) for t, r in zip(targets, results, strict=True)]
            try:
                with self._lock:
                    # once stopping, the IOC map may be closing under us: leave it alone
                    dirty = self._dirty and not self._stopping
                    self._dirty = self._dirty and not dirty
                loaded = self._load(mode) if dirty else None
            except BaseException:
                with self._lock:
                    self._dirty = True  # the set is still the old one: retry the load next cycle
                raise
            finally:
                for outcome in outcomes:
                    self._on_outcome(outcome)
            report = RefreshReport(tuple(outcomes), len(self.loaded_iocs), loaded)
            with self._lock:
                self._last_report = report
                if wanted is None:
                    self._full_done = number
                self._lock.notify_all()
        return report

    def _fetch_one(self, state: FeedState) -> _Fetched:
        """Fetch and parse one feed; never raises (a failure is returned)."""
        feed = state.feed
        request = FeedRequest(
            feed.url,
            feed.auth_header,
            state.etag if state.has_copy else None,
            state.last_modified if state.has_copy else None,
            self._max_feed_bytes,
        )
        try:
            document = self._fetcher.fetch(request)
            if document.body is None:
                return _Fetched(None, None, document.etag, document.last_modified)
            options = feed.parse_options(now=self._clock(), action=IocAction.ALERT)
            parsed = parse_feed(document.body, feed.format, options)
        except FeedFetchError as exc:
            return _Fetched((), f"fetch failed: {exc}")
        except ThreatIntelError as exc:
            return _Fetched((), f"parse failed: {exc}")
        return _Fetched(parsed.iocs, None, document.etag, document.last_modified)

    def _record(self, feed: FeedConfig, result: _Fetched) -> FeedOutcome:
        now = self._clock()
        with self._lock:
            state = self._states.get(feed.id)
            if state is None or _source(state.feed) != _source(feed):  # reconfigured meanwhile
                return FeedOutcome(feed.id, False, "feed reconfigured during the fetch; result dropped")
            error = result.error
            if error is None and result.iocs is not None and not result.iocs and len(state.iocs) > 0:
                error = "the document holds no IOC; keeping the previous copy"
            if error is not None:
                state.failures += 1
                state.failures_in_row += 1
                state.last_error = error
                retry = min(self._interval(feed), RETRY_SECS * 2 ** min(state.failures_in_row - 1, 20))
                state.next_due = now + self._jittered(retry)
                return FeedOutcome(feed.id, False, error, len(state.iocs))
            state.successes += 1
            state.failures_in_row = 0
            state.last_error = None
            state.last_fetched_ms = int(now * 1000)
            state.next_due = now + self._jittered(self._interval(feed))
            if result.iocs is None:
                return FeedOutcome(feed.id, True, "not modified", len(state.iocs), not_modified=True)
            state.iocs, state.has_copy = result.iocs, True
            state.etag, state.last_modified = result.etag, result.last_modified
            self._dirty = True
            return FeedOutcome(feed.id, True, f"{len(result.iocs)} IOCs", len(result.iocs))

    def _load(self, mode: IocAction) -> IocLoadReport:
        now = self._clock()
        with self._lock:
            feeds = [
                FeedIocs(s.feed.id, s.iocs, s.feed.min_confidence, s.feed.max_iocs)
                for s in self._states.values()
                if s.feed.enabled and s.has_copy
            ]
        merged = list(IocDatabase.build(feeds, now).iocs())
        if mode is IocAction.BLOCK:
            merged = [
                i if i.action is IocAction.BLOCK else dataclasses.replace(i, action=IocAction.BLOCK)
                for i in merged
            ]
        report = self._iocs.load(merged, now)
        self.loaded_iocs = tuple(merged)
        self._on_loaded(self.loaded_iocs)
        return report

    def _interval(self, feed: FeedConfig) -> float:
        return max(float(feed.refresh_interval_secs), self._min_interval)

    def _jittered(self, delay: float) -> float:
        return delay * (1.0 + JITTER * self._rand())

    # -- the worker --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker: a full refresh now, then each feed when it is due."""
        if self._thread is not None:
            return
        with self._lock:
            self._full_requested = True
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="threatintel-feeds", daemon=True)
        self._thread.start()

    def refresh_now(self, timeout: float) -> RefreshReport | None:
        """Ask the worker for a full refresh and wait until one that started after this call has
        finished (None: the worker is not running, or ``timeout`` passed — it still happens)."""
        with self._lock:
            if not self.running:
                return None
            asked_at = self._started_cycles
            self._full_requested = True
            self._lock.notify_all()
            done = self._lock.wait_for(lambda: self._full_done > asked_at or self._stopping, timeout)
            return self._last_report if done and not self._stopping else None

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                full, self._full_requested = self._full_requested, False
                reconfigured = self._pending is not None
            if full:
                self._cycle(None)
            elif reconfigured:
                self._cycle(())  # applies the new config (and reloads the set if it changed)
            else:
                due = self.due(self._clock())
                if due:
                    self._cycle(due)
            with self._lock:
                if self._stopping:
                    return
                if self._full_requested or self._pending is not None:
                    continue
                enabled = [s.next_due for s in self._states.values() if s.feed.enabled]
                wait = min(enabled) - self._clock() if enabled else None
                if wait is None or wait > 0:
                    self._lock.wait(timeout=None if wait is None else min(wait, 3600.0))

    def _cycle(self, feed_ids: Iterable[str] | None) -> None:
        try:
            self.refresh(feed_ids)
        except Exception as exc:  # the worker must outlive a broken cycle (e.g. a kernel error)
            self._on_outcome(FeedOutcome("*", False, f"refresh cycle failed: {type(exc).__name__}: {exc}"))
            with self._lock:
                self._last_report = RefreshReport((), len(self.loaded_iocs))
                if feed_ids is None:
                    self._full_done = self._started_cycles
                self._lock.notify_all()
            time.sleep(1.0)  # a persistent failure must not spin

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (a fetch in flight finishes or times out on its own)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


__all__ = [
    "FAILURE",
    "MIN_REFRESH_SECS",
    "SUCCESS",
    "FeedOutcome",
    "FeedState",
    "RefreshReport",
    "ThreatIntelFeedService",
]

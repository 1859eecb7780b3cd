"""The daily breach detection inside ``cardwatch serve``.

Once a day, at a configurable hour (UTC) — or every few hours from it, when the fraud team would
rather hear of a breach the day its reports arrive than the next night — and at start-up when the
last run is older than the latest scheduled moment (the service was down then), detection runs as of
the service's clock on what the service knows (:class:`~cardwatch.live_history.LiveHistory`, which
``breach respond`` reads too): the workspace's imported history, the payments the service decided
since that history ends, and the store's labels from their reported time laid over both — one
``transactions`` relation. Every suspect it finds that is not already a breach becomes one — the
same breach record, exposure, alert in the analysts' queue and victims' cases that ``cardwatch
breach respond --no-notify`` writes (:func:`cardwatch.respond.respond_to`), so the engine tightens
on the exposed cards at once — and a stored breach whose window or stores the new evidence widened
is updated in place. Pairs of places the run held as not yet told apart (the same victims paid
at both; :class:`~cardwatch.breach.Held`) are kept with the run and listed on the console's
breaches page: no alert yet, but the fraud team should know. It never notifies cardholders: a
person confirms a breach before its cardholders are told (``breach respond``, the API's
respond, or the console's notify).

A suspect is already alerted when a stored breach names the same chain or one of the same stores
with an overlapping window (:func:`cardwatch.breach.response.match_breach`); a breach an analyst
dismissed or closed is left alone. The victims of the breaches stored already (all but the
dismissed ones, false alarms) are set aside before the other places are tested
(``DetectConfig.explain_known``): the chain the victims also shop at cannot alert on them days
after the breach itself. The stored places are still tested on all the evidence, so a breach
that goes on is widened. A run whose history has no fraud reported (and, when clones are
evidence, ``DetectConfig.counterfeit_use``, no card newly seen paying as a clone) since the last
run is recorded and skipped: its answer could only drift. Each run's as-of time is stored
(``job_runs``), so a restart does not repeat the day's run; the last run's time and counts are in
``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from cardwatch.breach import DetectConfig, survey
from cardwatch.breach.detect import clones_seen
from cardwatch.breach.engine import duckdb_engine
from cardwatch.breach.flags import INACTIVE
from cardwatch.breach.response import match_breach, merge_suspects, suspect_of
from cardwatch.breach.suspect import Suspect
from cardwatch.live_history import LiveHistory
from cardwatch.respond import respond_to
from cardwatch.store.base import Store
from cardwatch.store.records import AuditEntry, Breach, JobRun
from cardwatch.workspace import Workspace

__all__ = [
    "JOB",
    "DailyDetection",
    "DailyReport",
    "divides_day",
    "is_due",
    "last_held",
    "last_slot",
]

log = logging.getLogger(__name__)

JOB = "breach_detect_daily"
WHO = "daily_detection"


def last_held(store: Store) -> tuple[JobRun | None, list[dict[str, Any]]]:
    """The last run of the job and the pairs of places it held (see :class:`DailyReport`)."""
    last = store.last_job_run(JOB)
    return last, list(last.details.get("held") or []) if last is not None else []


def divides_day(every: timedelta) -> bool:
    """Whether runs ``every`` apart fall at the same times each day (24 h, 12 h, 6 h, …).

    >>> divides_day(timedelta(hours=6)), divides_day(timedelta(hours=7))
    (True, False)
    """
    return every > timedelta(0) and not timedelta(days=1) % every


def last_slot(now: datetime, hour: int, every: timedelta = timedelta(days=1)) -> datetime:
    """The latest scheduled moment at or before ``now``: the runs fall at ``hour`` UTC and every
    ``every`` after it (a whole number of them per day: 24 h, 12 h, 6 h, …).

    >>> last_slot(datetime(2026, 1, 5, 1, 30, tzinfo=UTC), 2).isoformat()
    '2026-01-04T02:00:00+00:00'
    >>> last_slot(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), 2).isoformat()
    '2026-01-05T02:00:00+00:00'
    >>> last_slot(datetime(2026, 1, 5, 1, 30, tzinfo=UTC), 2, timedelta(hours=6)).isoformat()
    '2026-01-04T20:00:00+00:00'
    >>> last_slot(datetime(2026, 1, 5, 15, 0, tzinfo=UTC), 2, timedelta(hours=6)).isoformat()
    '2026-01-05T14:00:00+00:00'
    """
    now = now.astimezone(UTC)
    today = datetime.combine(now.date(), time(hour), tzinfo=UTC)
    first = today if now >= today else today - timedelta(days=1)
    return first + ((now - first) // every) * every


def is_due(
    last: JobRun | None, now: datetime, hour: int, every: timedelta = timedelta(days=1)
) -> bool:
    """Whether a run is due: never run, or the last run was before the latest scheduled moment
    (at start-up after a day or more down, that is at once).

    >>> t = datetime(2026, 1, 5, 3, tzinfo=UTC)
    >>> is_due(None, t, 2), is_due(JobRun(JOB, t - timedelta(hours=2), t), t, 2)
    (True, True)
    >>> is_due(JobRun(JOB, t - timedelta(minutes=30), t), t, 2)
    False
    >>> is_due(JobRun(JOB, t - timedelta(minutes=30), t), t + timedelta(hours=5), 2,
    ...        timedelta(hours=6))
    True
    """
    return last is None or last.as_of < last_slot(now, hour, every)


@dataclass
class DailyReport:
    """What one run did: breach ids created and updated, suspects already alerted, places
    held."""

    as_of: datetime
    skipped: str | None = None
    suspects: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    already: int = 0
    #: Pairs of places held as not yet told apart (``place``, ``rival``, ``text``, ``as_of``,
    #: ``basis``): no alert, but what the fraud team should know is building. A skipped run
    #: keeps the last run's, which nothing new could have changed.
    held: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "skipped": self.skipped,
            "suspects": self.suspects,
            "created": self.created,
            "updated": self.updated,
            "already": self.already,
            "held": self.held,
        }


def _widens(stored: Breach, merged: Suspect) -> bool:
    ev = stored.evidence or {}
    stores = {
        stored.merchant_id,
        *(ev.get("merchant_ids") or []),
        *ev.get("exposed_merchant_ids", []),
    }
    return (
        merged.window_start < stored.window_start
        or merged.window_end > stored.window_end
        or merged.level != ev.get("level", "store")
        or not set(merged.merchant_ids) <= stores
    )


class DailyDetection:
    """The job: :meth:`run_once` runs detection and records what it found; :meth:`tick` runs
    it when due; :meth:`run` ticks until stopped (a task beside the outbox worker)."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        *,
        clock: Callable[[], datetime],
        hour: int = 2,
        every: timedelta = timedelta(days=1),
        config: DetectConfig | None = None,
        registry: CollectorRegistry | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be 0-23, not {hour}")
        if not divides_day(every):
            raise ValueError(f"runs must divide the day evenly, not every {every}")
        self.workspace = workspace
        self.store = store
        self.clock = clock
        self.hour = hour
        self.every = every
        self.config = config or DetectConfig()
        self.on_change = on_change
        self.runs = 0
        self._metrics = _Metrics(registry) if registry is not None else None
        last = store.last_job_run(JOB)
        if last is not None and self._metrics is not None:
            self._metrics.show(last.as_of, last.details)

    def tick(self) -> DailyReport | None:
        """Run when due (see :func:`is_due`); None when not."""
        now = self.clock()
        if not is_due(self.store.last_job_run(JOB), now, self.hour, self.every):
            return None
        return self.run_once(now)

    def run_once(self, now: datetime | None = None) -> DailyReport:
        """Detection as of ``now`` (default: the clock), its new suspects recorded as breaches
        with their alerts, widened breaches updated; the run stored."""
        now = (now or self.clock()).astimezone(UTC)
        last = self.store.last_job_run(JOB)
        report = DailyReport(now)
        history = LiveHistory(self.workspace, self.store, now)
        if history.is_empty():
            report.skipped = "no history"
        elif last is not None and not _news(history, last.as_of, now, self.config):
            report.skipped = (
                "no fraud reported and no clone seen since the last run"
                if self.config.counterfeit_use
                else "no fraud reported since the last run"
            )
            report.held = list(last.details.get("held") or [])
        else:
            self._detect(history, now, report)
        self.store.record_job_run(JobRun(JOB, now, self.clock(), report.as_dict()))
        self.store.append_audit(
            AuditEntry(WHO, "breach_detect", f"job:{JOB}", now, report.as_dict())
        )
        self.runs += 1
        if self._metrics is not None:
            self._metrics.show(now, report.as_dict(), ran=True)
        if (report.created or report.updated) and self.on_change is not None:
            self.on_change()
        log.info("daily breach detection as of %s: %s", now, report.as_dict())
        return report

    def _detect(self, history: LiveHistory, now: datetime, report: DailyReport) -> None:
        # A dismissed breach was a false alarm: its cards are back in play. A closed one was
        # real, and its victims are still explained by it.
        known = [suspect_of(b) for b in self.store.breaches() if b.status != "dismissed"]
        with history.connect() as con:
            result = survey(con, now, self.config, known)
        found = result.suspects
        report.suspects = len(found)
        report.held = [
            {"place": h.place.key, "rival": h.rival.key, "text": h.describe(),
             "as_of": now.isoformat(), "basis": h.place.basis}
            for h in result.held
        ]  # fmt: skip
        for suspect in found:
            stored = match_breach(self.store.breaches(), suspect)
            if stored is None:
                result = respond_to(
                    self.workspace,
                    self.store,
                    suspect,
                    None,
                    now=now,
                    as_of=now,
                    notify=False,
                    history=history,
                    who=WHO,
                )
                report.created.append(result.breach.breach_id)
                continue
            merged = merge_suspects(suspect_of(stored), suspect)
            if stored.status in INACTIVE or not _widens(stored, merged):
                report.already += 1
                continue
            respond_to(
                self.workspace,
                self.store,
                merged,
                stored,
                now=now,
                as_of=now,
                notify=False,
                history=history,
                who=WHO,
            )
            report.updated.append(stored.breach_id)

    async def run(self, stop: asyncio.Event, poll: float = 60.0) -> None:
        """Tick every ``poll`` seconds until ``stop`` is set; a failed run is logged and tried
        again at the next tick (it was not recorded)."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("daily breach detection failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll)


def _news(history: LiveHistory, after: datetime, until: datetime, config: DetectConfig) -> int:
    """Fraud reports since ``after``, and cards first seen paying as clones since then when
    clones are evidence: without either, a run could only repeat the last one."""
    with history.connect() as con:
        table = con.sql(
            "SELECT count(*) AS n FROM transactions WHERE is_fraud = 1"
            " AND fraud_reported_at > ? AND fraud_reported_at <= ?",
            params=[after, until],
        ).to_arrow_table()
        news = int(table.column("n")[0].as_py() or 0)
        if config.counterfeit_use and not news:
            engine = duckdb_engine(con)
            news = len(clones_seen(engine, until, config) - clones_seen(engine, after, config))
    return news


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_run = Gauge(
            "cardwatch_breach_detection_last_run_timestamp_seconds",
            "As-of time of the last daily breach detection (Unix time)",
            registry=registry,
        )
        self.last_suspects = Gauge(
            "cardwatch_breach_detection_last_suspects",
            "Suspects found by the last daily breach detection",
            registry=registry,
        )
        self.last_created = Gauge(
            "cardwatch_breach_detection_last_new_breaches",
            "Breaches the last daily detection recorded and alerted",
            registry=registry,
        )
        self.last_updated = Gauge(
            "cardwatch_breach_detection_last_updated_breaches",
            "Breaches the last daily detection widened",
            registry=registry,
        )
        self.last_held = Gauge(
            "cardwatch_breach_detection_last_held_pairs",
            "Pairs of places the last daily detection held as not yet told apart",
            registry=registry,
        )
        self.runs = Counter(
            "cardwatch_breach_detection_runs",
            "Daily breach detection runs by this process",
            registry=registry,
        )

    def show(self, as_of: datetime, details: dict[str, Any], ran: bool = False) -> None:
        self.last_run.set(as_of.timestamp())
        self.last_suspects.set(int(details.get("suspects", 0)))
        self.last_created.set(len(details.get("created", [])))
        self.last_updated.set(len(details.get("updated", [])))
        self.last_held.set(len(details.get("held") or []))
        if ran:
            self.runs.inc()

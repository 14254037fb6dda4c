"""Alert pipeline metrics in the contract's names (§4), kept here until a registry exports them.

Counters and gauges are plain numbers keyed by (name, labels); ``samples()`` lists them for any
exporter (the agent's Prometheus registry maps each sample one to one). Thread-safe: producers
count from their own threads.

The ``destination`` label is the destination kind (``log``, ``email``, ``webhook``, ``otlp``) as in
the contract; routes of the same kind add up, and the circuit gauge shows the worst route's state.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass

ALERTS_TOTAL = "ebpfsentinel_alerts_total"  # {component, severity, technique_id}, before dedup
ALERTS_BY_RULE = "ebpfsentinel_alerts_by_rule_total"  # {component, rule_id}
ALERTS_DROPPED = "ebpfsentinel_alerts_dropped_total"  # {reason}
ALERTS_EXPORTED = "ebpfsentinel_alerts_exported_total"  # {destination}
EXPORT_FAILURES = "ebpfsentinel_alert_export_failures_total"  # {destination}: failed attempts
CIRCUIT_STATE = "ebpfsentinel_alert_sender_circuit_state"  # {destination}: 0 closed, 1 half-open, 2 open
SPOOL_DEPTH = "ebpfsentinel_alert_spool_depth"  # {destination}
EVENTS_DROPPED = "ebpfsentinel_events_dropped_total"  # {reason="alert_channel_full"}
RECORDER_ERRORS = "ebpfsentinel_alert_recorder_errors_total"  # {recorder}

DROP_REASONS = ("dedup", "throttle", "no_route", "spool_full", "expired", "failed", "spool_error")
GAUGES = frozenset({CIRCUIT_STATE, SPOOL_DEPTH})

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MetricSample:
    name: str
    kind: str  # "counter" or "gauge"
    labels: Mapping[str, str]
    value: float


class AlertMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, Labels], float] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        if amount == 0:
            return
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value

    def value(self, name: str, **labels: str) -> float:
        """The sum over every series of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        with self._lock:
            return sum(v for (n, ls), v in self._values.items() if n == name and wanted <= set(ls))

    def dropped(self) -> dict[str, int]:
        """``alerts_dropped_total`` per reason, every reason present (0 when never counted)."""
        return {reason: int(self.value(ALERTS_DROPPED, reason=reason)) for reason in DROP_REASONS}

    def samples(self) -> list[MetricSample]:
        with self._lock:
            items = sorted(self._values.items())
        return [
            MetricSample(name, "gauge" if name in GAUGES else "counter", dict(labels), value)
            for (name, labels), value in items
        ]

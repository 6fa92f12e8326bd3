"""A small Prometheus registry: counters, gauges and histograms rendered as text format 0.0.4.

Hand-rolled because the service needs a dozen series, not a client library's
process-global registry: each app owns its own, so tests never share counts.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

__all__ = ["STAGE_BUCKETS", "Metrics", "watch_loop_lag"]

STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

_Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, str]) -> _Labels:
    return tuple(sorted(labels.items()))


def _fmt_labels(labels: Iterable[tuple[str, str]]) -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Metrics:
    """Series are declared on first use; ``gauge_fn`` registers a gauge read at scrape time."""

    def __init__(self) -> None:
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[_Labels, float]] = defaultdict(dict)
        self._hist: dict[str, dict[_Labels, list[float]]] = defaultdict(dict)
        self._buckets: dict[str, tuple[float, ...]] = {}
        self._gauge_fns: dict[str, Callable[[], float]] = {}

    def _declare(self, name: str, kind: str, help_text: str) -> None:
        self._help.setdefault(name, (kind, help_text))

    def inc(self, name: str, help_text: str, value: float = 1.0, **labels: str) -> None:
        self._declare(name, "counter", help_text)
        key = _labels(labels)
        series = self._values[name]
        series[key] = series.get(key, 0.0) + value

    def set(self, name: str, help_text: str, value: float, **labels: str) -> None:
        self._declare(name, "gauge", help_text)
        self._values[name][_labels(labels)] = value

    def gauge_fn(self, name: str, help_text: str, fn: Callable[[], float]) -> None:
        self._declare(name, "gauge", help_text)
        self._gauge_fns[name] = fn

    def observe(
        self, name: str, help_text: str, value: float, buckets: tuple[float, ...] = STAGE_BUCKETS, **labels: str
    ) -> None:
        self._declare(name, "histogram", help_text)
        self._buckets.setdefault(name, buckets)
        counts = self._hist[name].setdefault(_labels(labels), [0.0] * (len(buckets) + 2))
        for i, bound in enumerate(self._buckets[name]):
            if value <= bound:
                counts[i] += 1
        counts[-2] += 1  # count
        counts[-1] += value  # sum

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter or gauge series (0 when never set)."""
        return self._values.get(name, {}).get(_labels(labels), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        for name in sorted(self._help):
            kind, help_text = self._help[name]
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            if name in self._gauge_fns:
                lines.append(f"{name} {_num(self._gauge_fns[name]())}")
            for labels, value in sorted(self._values.get(name, {}).items()):
                lines.append(f"{name}{_fmt_labels(labels)} {_num(value)}")
            for labels, counts in sorted(self._hist.get(name, {}).items()):
                for bound, count in zip(self._buckets[name], counts, strict=False):
                    lines.append(f"{name}_bucket{_fmt_labels((*labels, ('le', _num(bound))))} {_num(count)}")
                lines.append(f"{name}_bucket{_fmt_labels((*labels, ('le', '+Inf')))} {_num(counts[-2])}")
                lines.append(f"{name}_count{_fmt_labels(labels)} {_num(counts[-2])}")
                lines.append(f"{name}_sum{_fmt_labels(labels)} {_num(counts[-1])}")
        return "\n".join(lines) + "\n"


async def watch_loop_lag(metrics: Metrics, every_s: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
    """Record how late the loop wakes a sleeper: ``csse_event_loop_lag_seconds`` (last and max)."""
    worst = 0.0
    while True:
        start = clock()
        await asyncio.sleep(every_s)
        lag = max(0.0, clock() - start - every_s)
        worst = max(worst, lag)
        metrics.set("csse_event_loop_lag_seconds", "How late the event loop woke a timer.", lag, stat="last")
        metrics.set("csse_event_loop_lag_seconds", "How late the event loop woke a timer.", worst, stat="max")

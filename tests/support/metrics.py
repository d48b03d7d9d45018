"""Read Prometheus expositions of running processes: histograms, counters, quantiles."""

from __future__ import annotations

from collections.abc import Iterable

import requests


def histogram(ports: Iterable[int], name: str) -> dict[float, float]:
    """Sum a histogram's cumulative buckets over the metrics servers on these ports."""
    buckets: dict[float, float] = {}
    for port in ports:
        for line in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
            if line.startswith(name + "_bucket{"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def counter(ports: Iterable[int], name: str, labels: str = "") -> float:
    """Sum every series of a metric (or of a histogram's _sum/_count) whose labels start
    with `labels` (e.g. 'outcome="sent"'), over the metrics servers on these ports."""
    total = 0.0
    prefixes = (name + "{" + labels,) if labels else (name + " ", name + "{")
    for port in ports:
        for line in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
            if line.startswith(prefixes):
                total += float(line.rsplit(" ", 1)[1])
    return total


def quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """histogram_quantile over the difference of two cumulative bucket snapshots."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return float("nan")
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for bound, count in zip(bounds, counts):
        if count >= rank:
            if bound == float("inf"):
                return prev_bound
            return prev_bound + (bound - prev_bound) * (rank - prev_count) / max(count - prev_count, 1e-9)
        prev_bound, prev_count = bound, count
    return bounds[-2]


def share_within(bound: float, before: dict[float, float], after: dict[float, float]) -> float:
    """Return the share of the observations between two snapshots that were <= bound
    (a bucket boundary), e.g. 0.995 within 0.25 s means p99 <= 250 ms."""
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    return (after[bound] - before.get(bound, 0.0)) / total if total else float("nan")

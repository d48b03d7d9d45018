"""Bench phase "analyst": what-if re-ranking latency and rank-band recompute time.

In-process, no stack: what-if runs the API's own handler (`rankings_document` with weights=,
parse + re-aggregate + rank_scores + JSON) on N synthetic cities, each request with
different weights so nothing is cached; the bands time the worker task's computation
(`rank_bands`, 1,000 draws, seeded) on the same cities. Run alone with
`python -m bench.analyst`.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from shared.contract.jsonfast import compact
from shared.contract.methodology import Methodology, load_methodology
from shared.domain.records import IndexMeta
from shared.domain.scoring.ranking import rank_scores
from shared.domain.scoring.sensitivity import DRAWS, band_seed, rank_bands
from shared.domain.scoring.whatif import whatif_score
from shared.queries import params
from shared.queries.documents import RankingQuery, rankings_document


class _Reader:
    def unranked(self) -> list[dict[str, str]]:
        return []


@dataclass
class _View:
    """A RankingView over in-memory rows (what the web process caches per version)."""

    methodology: Methodology
    rows: list[dict[str, Any]]
    reader: Any = None

    def stamp(self) -> IndexMeta:
        return IndexMeta("2025-06-30", 1, self.methodology.version, None)

    def ranked(self, pillar: str | None) -> tuple[int, list[dict[str, Any]]]:
        return 1, self.rows

    def ranks(self, pillar: str | None) -> dict[str, int]:
        return {r["city_id"]: r["rank"] for r in self.rows}

    def bands(self) -> dict[str, Any] | None:
        return None


def synthetic_rows(m: Methodology, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Return n ranked read-model rows with random pillar scores, ranked officially."""
    codes = [p.code for p in m.pillars]
    weights = {p.code: p.weight for p in m.pillars}
    cards = []
    for i in range(n):
        pillars = {c: rng.uniform(5.0, 95.0) for c in codes}
        cards.append({"city_id": f"city-{i:05d}", "name": f"City {i}", "country": "XX",
                      "region": "Europe", "coverage": 1.0, "reason": None, "pillars": pillars,
                      "score": whatif_score(pillars, weights, m.aggregation)})
    by_id = {c["city_id"]: c for c in cards}
    rows = []
    for item in rank_scores((c["city_id"], c["score"]) for c in cards):
        rows.append({**by_id[item.city_id], "rank": item.rank})
    return rows


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def analyst_phase(sizes: tuple[int, ...] = (100, 10_000), requests: int = 200) -> dict[str, Any]:
    m = load_methodology()
    codes = [p.code for p in m.pillars]
    rng = random.Random(11)
    out: dict[str, Any] = {}
    for n in sizes:
        view = _View(m, synthetic_rows(m, n, rng), _Reader())
        times = []
        k = requests if n <= 1000 else max(requests // 4, 20)
        for i in range(k):
            weights = ",".join(f"{c}:{rng.randint(0, 100) + (j == i % len(codes))}"
                               for j, c in enumerate(codes))
            agg = ("arithmetic", "geometric")[i % 2]
            t0 = time.perf_counter()
            query = RankingQuery(since=params.since_point(None, 0),
                                 weights=params.weights(weights, codes), aggregation=agg)
            compact(rankings_document(view, query))
            times.append(time.perf_counter() - t0)
        ids = [r["city_id"] for r in view.rows]
        import numpy as np

        scores = np.array([[r["pillars"][c] for c in codes] for r in view.rows])
        t0 = time.perf_counter()
        rank_bands(ids, scores, [p.weight for p in m.pillars], band_seed(1), DRAWS)
        band_s = time.perf_counter() - t0
        out[str(n)] = {"whatif_p50_ms": 1000 * statistics.median(times),
                       "whatif_p95_ms": 1000 * _p95(times), "whatif_requests": k,
                       "bands_seconds": band_s, "band_draws": DRAWS}
    return out


def report_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (measure, value) rows for the bench report."""
    rows = []
    for n, v in r.items():
        rows.append((f"what-if re-rank, {int(n):,} cities, p50 / p95 (handler + JSON)",
                     f"{v['whatif_p50_ms']:.1f} / {v['whatif_p95_ms']:.1f} ms"))
        rows.append((f"rank bands, {int(n):,} cities, {v['band_draws']:,} draws",
                     f"{v['bands_seconds']:.2f} s"))
    return rows


if __name__ == "__main__":
    result = analyst_phase()
    for measure, value in report_rows(result):
        print(f"{measure:60s} {value}")

"""Rank bands: schedule their recompute (debounced) and compute them from the ranking.

The sweeper (every couple of seconds) asks for a run whenever the bands lag the ranking;
the first ask in DEBOUNCE_SECONDS sets a flag (SET NX EX) and queues one run at once, which
reads the ranking as it is then (the newest version wins). So the bands run at most once
per DEBOUNCE_SECONDS and lag a change by at most about that plus a sweep. No countdown
(ETA) message is used: a worker holding one unacknowledged across a Redis restart crashed
in kombu's restore of unacked messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shared.commands.ports import BandRecords, RankedRows
from shared.contract.methodology import Methodology
from shared.domain.scoring.sensitivity import DRAWS, band_seed, rank_bands

DEBOUNCE_SECONDS = 10


@dataclass(frozen=True)
class BandReport:
    ranking_version: int
    cities: int
    written: bool


def request_bands(store: BandRecords, queue: Callable[[], None]) -> bool:
    """Queue one band run now unless one ran or was queued in DEBOUNCE_SECONDS; True if queued."""
    if store.request(DEBOUNCE_SECONDS):
        queue()
        return True
    return False


def sweep_bands(store: BandRecords, queue: Callable[[], None]) -> bool:
    """Queue a band run if the bands lag the ranking and none ran or was queued lately."""
    return store.behind() and request_bands(store, queue)


def recompute_bands(reader: RankedRows, store: BandRecords, methodology: Methodology,
                    draws: int = DRAWS) -> BandReport:
    """Compute the bands of the current ranking (seeded from its version) and publish them."""
    version, rows = reader.ranked(None)
    codes = [p.code for p in methodology.pillars]
    ids = [str(r["city_id"]) for r in rows]
    scores = np.array([[(r.get("pillars") or {}).get(c) or 0.0 for c in codes] for r in rows],
                      dtype=float).reshape(len(rows), len(codes))
    bands = rank_bands(ids, scores, [p.weight for p in methodology.pillars],
                       band_seed(version), draws)
    written = store.publish(version, draws, {c: b.to_stored() for c, b in bands.items()})
    return BandReport(version, len(ids), written)

"""EventCodec.load_many (the batch fast path) gives exactly what load() gives, item by item."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from shared.contract.events import EventCodec
from shared.contract.methodology import load_methodology

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"


def sample(n: int = 400) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for path in sorted(REFERENCE.glob("*.ndjson")):
        events += [json.loads(line) for line in path.read_text().splitlines()[:n]]
    return events


def one_by_one(codec: EventCodec, raws: list[Any]) -> list[Any]:
    out: list[Any] = []
    for raw in raws:
        try:
            out.append(codec.load(raw))
        except ValidationError as exc:
            out.append(exc.normalized_messages())
    return out


def batch(codec: EventCodec, raws: list[Any]) -> list[Any]:
    return [r.normalized_messages() if isinstance(r, ValidationError) else r
            for r in codec.load_many(raws)]


def test_valid_batch_of_every_type_matches_load() -> None:
    codec = EventCodec(load_methodology())
    raws = sample()
    assert {r["type"] for r in raws} == {"city.upserted", "indicator.observed",
                                         "project.upserted", "index.ticked"}
    assert batch(codec, raws) == one_by_one(codec, raws)


def test_mixed_batches_match_load_item_by_item() -> None:
    codec = EventCodec(load_methodology())
    rng = random.Random(5)
    spoilers = [
        lambda r: r.update(event_id="nope"),
        lambda r: r.update(occurred_at="2025-01-01T00:00:00"),
        lambda r: r["data"].update(extra=1),
        lambda r: r.pop("data"),
        lambda r: r.update(city_id=None) if r["type"] != "index.ticked" else r.update(city_id="x"),
        lambda r: r.update(type="city.renamed"),
    ]
    base = sample(50)
    for _ in range(30):
        raws: list[Any] = [copy.deepcopy(r) for r in rng.sample(base, 40)]
        for r in rng.sample(raws, 3):
            rng.choice(spoilers)(r)
        raws.insert(rng.randrange(len(raws)), "not an object")
        assert batch(codec, raws) == one_by_one(codec, raws)

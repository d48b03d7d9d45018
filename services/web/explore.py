"""Page model of /explore: the ranking under the reader's own pillar weights.

The rows come from the JSON API's own document (`rankings_document` with weights= and
aggregation=), so the page shows exactly the API's numbers; the page's script re-reads that
API as the sliders move and keeps the state in the URL (weights=, aggregation=).
"""

from __future__ import annotations

from typing import Any

from services.web.api import ctx
from services.web.pages import pillar_list
from shared.domain.scoring.explain import places_gained
from shared.domain.scoring.whatif import AGGREGATIONS
from shared.queries import params
from shared.queries.documents import RankingQuery, rankings_document

MOVERS = 5  # cities listed as the biggest risers and fallers


def _fmt(value: float) -> str:
    return f"{value:g}"


def weights_arg(args: dict[str, str], codes: list[str]) -> str | None:
    """Return the weights= value of a query string; a form without script sends one field
    per pillar instead, which is folded into the same spelling."""
    if args.get("weights"):
        return args["weights"]
    named = [c for c in codes if args.get(c) not in (None, "")]
    if not named:
        return None
    return ",".join(f"{c}:{args[c]}" for c in named)


def movers(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Return the cities that gain and lose the most places against the official ranking."""
    moved = [i for i in items if i["official_rank"] != i["rank"]]
    up = sorted((i for i in moved if i["official_rank"] > i["rank"]),
                key=lambda i: (i["rank"] - i["official_rank"], i["rank"]))
    down = sorted((i for i in moved if i["official_rank"] < i["rank"]),
                  key=lambda i: (i["official_rank"] - i["rank"], i["rank"]))
    return {"up": up[:MOVERS], "down": down[:MOVERS]}


def explore_page(args: dict[str, str]) -> dict[str, Any]:
    """Build /explore for the URL's weights and aggregation (BadQuery if they are wrong)."""
    c = ctx()
    m = c.methodology
    pillars = pillar_list(m)
    codes = [p["code"] for p in pillars]
    raw = weights_arg(args, codes)
    given = params.weights(raw or ",".join(f"{p.code}:{_fmt(p.weight * 100)}"
                                           for p in m.pillars), codes)
    aggregation = (params.choice("aggregation", args.get("aggregation"), AGGREGATIONS)
                   or m.aggregation)
    doc = rankings_document(c, RankingQuery(since=c.since(), weights=given,
                                            aggregation=aggregation))
    # The sliders show the numbers as given (0-100); the shares are the renormalised ones.
    for p in pillars:
        p["value"] = given[p["code"]] if raw else round(p["weight"] * 100, 6)
        p["share"] = doc["weights"][p["code"]]
        p["official"] = p["weight"]
    items = doc["items"]
    for item in items:
        item["places_gained"] = places_gained(item["official_rank"], item["rank"])
    return {"doc": doc, "items": items, "pillars": pillars, "aggregation": doc["aggregation"],
            "official_aggregation": m.aggregation, "movers": movers(items),
            "movers_n": MOVERS, "slider_max": max(100.0, *(p["value"] for p in pillars))}

"""The city page's "What it takes" section: the gap document in sentences, with a control to
pick another target city (shared/queries/gap.py, shared/queries/gap_text.py)."""

from __future__ import annotations

from typing import Any

from flask import url_for

from services.web.api import ctx, gap_payload
from shared.queries.gap_text import headline, short_lines, sufficient_lines


def gap_view(city_id: str) -> dict[str, Any] | None:
    """Return the section's model for a ranked city (to= or rank= of the page's query), or
    None for a city without a rank."""
    doc = gap_payload(city_id)
    if doc is None:
        return None
    _, rows = ctx().ranked(None)
    choices = [{"city_id": r["city_id"], "name": r.get("name") or r["city_id"], "rank": r["rank"]}
               for r in rows if r["city_id"] != city_id]

    def lines(found: list[Any]) -> list[dict[str, Any]]:
        return [{"text": line.text,
                 "href": f"#ind-{line.indicator}" if line.indicator else "#projects"}
                for line in found]

    return {"doc": doc, "headline": headline(doc), "sufficient": lines(sufficient_lines(doc)),
            "short": lines(short_lines(doc)), "choices": choices,
            "to": doc["target"]["city_id"],
            "href": url_for("api.city_gap", city_id=city_id, to=doc["target"]["city_id"])}

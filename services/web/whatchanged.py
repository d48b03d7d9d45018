"""A city's "What changed": an explanation document (shared.queries.timeline) in plain
words, each sentence made of text pieces and links to the data behind it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import url_for

from services.web.api import ctx
from services.web.formatting import fmt_day, fmt_moment, fmt_ordinal, fmt_qty, fmt_signed
from shared.contract.methodology import Methodology
from shared.queries.params import Point, since_point
from shared.queries.timeline import explain_document

PASSERS_NAMED = 3  # cities named in "X passed it"; the rest are counted


def iso_to_ms(iso_time: str) -> int:
    """Return an RFC 3339 time in Unix ms."""
    return int(datetime.fromisoformat(iso_time).timestamp() * 1000)


def name_of(city_id: str) -> str:
    """Return a city's display name (its id if it has none)."""
    result = ctx().reader.result(city_id) or {}
    return str((result.get("profile") or {}).get("name") or city_id)



def _link(text: str, href: str | None = None) -> dict[str, Any]:
    return {"text": text, "href": href}


def _city_links(ids: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return "A, B and 2 more" as sentence pieces linking each named city's page."""
    named = ids[:PASSERS_NAMED]
    out: list[dict[str, Any]] = []
    for n, item in enumerate(named):
        if n:
            out.append(_link(" and " if n == len(named) - 1 and len(ids) <= PASSERS_NAMED
                             else ", "))
        out.append(_link(name_of(item["city_id"]),
                         url_for("views.city", city_id=item["city_id"])))
    if len(ids) > PASSERS_NAMED:
        out.append(_link(f" and {len(ids) - PASSERS_NAMED} more"))
    return out


def _driver_pieces(doc: dict[str, Any], m: Methodology) -> list[dict[str, Any]]:
    """Return "research −2.1 points, mostly AI publications revised from … by feed … on …"."""
    pillars = [p for p in doc["pillars"] if p["contribution"] and abs(p["contribution"]) >= 0.05]
    pillars.sort(key=lambda p: -abs(p["contribution"]))
    out: list[dict[str, Any]] = []
    for n, p in enumerate(pillars[:2]):
        out.append(_link((" and " if n else "") + f"{p['name'].lower()} "
                         f"{fmt_signed(p['contribution'])} points"))
    inds = [i for i in doc["indicators"] if pillars and i["pillar"] == pillars[0]["pillar"]]
    top = (inds or doc["indicators"] or [None])[0]
    if top is None:
        return out
    unit = m.indicator(top["indicator"]).unit if m.has_indicator(top["indicator"]) else ""
    out.append(_link(", mostly " if out else "mostly "))
    out.append(_link(top["name"], f"#ind-{top['indicator']}"))
    if top["from_value"] is None:
        out.append(_link(f" first reported as {fmt_qty(top['to_value'], unit)}"))
    elif top["to_value"] is None:
        out.append(_link(f" no longer observed (was {fmt_qty(top['from_value'], unit)})"))
    else:
        out.append(_link(f" revised from {fmt_qty(top['from_value'], unit)} to "
                         f"{fmt_qty(top['to_value'], unit)}"))
    if top.get("feed"):
        out.append(_link(f" by feed {top['feed']}"))
    if top.get("occurred_at"):
        out.append(_link(f" on {fmt_day(top['occurred_at'])}"))
    return out


def what_changed(doc: dict[str, Any] | None, m: Methodology, since_text: str,
                 json_href: str) -> dict[str, Any]:
    """Say in plain words why a city moved, from an explanation document: sentences as
    pieces of text and links (indicator rows, passing cities, the explanation's JSON)."""
    if doc is None:
        return {"sentences": [[_link(f"No change since {since_text}. "),
                               _link("The data (JSON)", json_href)]], "moved": False}
    name, a, b = doc["name"], doc["from"], doc["to"]
    score_moved = doc["score_delta"] is not None and abs(doc["score_delta"]) >= 0.0005
    rank_moved = doc["places_gained"] not in (None, 0) or (a["rank"] is None) != (b["rank"] is None)
    if not score_moved and not rank_moved and not doc["indicators"]:
        return {"sentences": [[_link(f"No change since {since_text}: {name} is "
                                     + (f"{fmt_ordinal(b['rank'])}" if b["rank"] else "not ranked")
                                     + (f" with {b['score']:.1f} points. " if b["score"] is not None
                                        else ". ")),
                               _link("The data (JSON)", json_href)]], "moved": False}
    first: list[dict[str, Any]] = []
    if a["rank"] is not None and b["rank"] is not None and a["rank"] != b["rank"]:
        verb = "fell" if b["rank"] > a["rank"] else "rose"
        first.append(_link(f"{name} {verb} from {fmt_ordinal(a['rank'])} to "
                           f"{fmt_ordinal(b['rank'])} since {since_text}"))
    elif a["rank"] is None and b["rank"] is not None:
        first.append(_link(f"{name} entered the ranking at {fmt_ordinal(b['rank'])} "
                           f"since {since_text}"))
    elif a["rank"] is not None and b["rank"] is None:
        first.append(_link(f"{name} left the ranking (it was {fmt_ordinal(a['rank'])}) "
                           f"since {since_text}"))
    elif b["rank"] is not None:
        first.append(_link(f"{name} stayed {fmt_ordinal(b['rank'])} since {since_text}"))
    else:
        first.append(_link(f"{name} has not been ranked since {since_text}"))
    drivers = _driver_pieces(doc, m) if score_moved or doc["indicators"] else []
    same_score = (a["score"] is not None and b["score"] is not None
                  and abs(b["score"] - a["score"]) < 0.0005)
    if rank_moved and same_score:
        first.append(_link(": its own score did not change"))
    elif drivers:
        first.append(_link(": "))
        first += drivers
    if doc["passed_by"]:
        first.append(_link("; "))
        first += _city_links(doc["passed_by"])
        first.append(_link(" passed it"))
    if doc["passed"]:
        first.append(_link("; it passed "))
        first += _city_links(doc["passed"])
    first.append(_link(". "))
    sentences = [first]
    if score_moved and a["score"] is not None and b["score"] is not None:
        second = [_link(f"Its score went from {a['score']:.1f} to {b['score']:.1f} "
                        f"({fmt_signed(doc['score_delta'])} points)")]
        own, others = doc["places_gained_own"], doc["places_gained_others"]
        if own and others:
            second.append(_link(f"; of its rank change, {abs(own)} place(s) came from its own "
                                f"score and {abs(others)} from other cities' changes"))
        elif rank_moved and not own:
            second.append(_link("; its rank moved only because other cities' scores changed"))
        second.append(_link(". "))
        sentences.append(second)
    sentences[-1].append(_link("The data (JSON)", json_href))
    return {"sentences": sentences, "moved": True}


def explain_view(city_id: str, args: Mapping[str, str], as_of: dict[str, Any] | None
                  ) -> dict[str, Any]:
    """Explain the city's move since since= (spans count back from the page's moment)."""
    c = ctx()
    since = args.get("since") or None
    ref = c.timeline.now_ms() if as_of is None else iso_to_ms(as_of["resolved_at"])
    start = since_point(since, ref)
    until = None if as_of is None else Point("version", as_of["ranking_version"],
                                             str(as_of["ranking_version"]))
    doc = explain_document(c.timeline, city_id, start, until)
    if as_of is None:
        href = url_for("api.city_explain", city_id=city_id, since=since)
    else:  # the page's own moments, exactly
        href = url_for("api.city_explain", city_id=city_id,
                       since=doc["from"]["ranking_version"] if doc else since,
                       until=as_of["ranking_version"])
    at = doc["from"]["at"] if doc else None
    since_text = ("the start of today" if since is None and as_of is None
                  else fmt_moment(at) if at else since or "today")
    if since is None and as_of is None and at and iso_to_ms(at) > start.value:
        since_text = f"{fmt_moment(at)} (history starts then)"
    return {"doc": doc, "href": href, "since": since or "", "since_text": since_text,
            **what_changed(doc, c.methodology, since_text, href)}



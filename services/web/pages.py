"""Page models for the HTML views, built from the JSON API's documents.

Every number shown on a page comes from the same helpers as the API (`rankings_payload`,
`city_payload`, the ranked rows), so a page and its download always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from statistics import mean
from typing import Any

from flask import url_for

from services.web import charts
from services.web.api import city_payload, ctx, rankings_payload
from services.web.csvsafe import Cell, csv_text
from services.web.formatting import fmt_signed, top_change
from services.web.whatchanged import explain_view, name_of
from services.web.whatittakes import gap_view
from shared.contract.methodology import Methodology, Pillar
from shared.domain.records import Moment
from shared.domain.scoring.ranking import rank_scores
from shared.queries import params
from shared.queries.params import Point

SORT_OVERALL = "overall"
STRENGTH_POINTS = 5.0  # a pillar this far above (below) the peers' mean is a strength (weakness)
PEER_SPAN = 5  # peers for strengths: this many cities ranked above and below
MAX_COMPARE = 4
# The "since" choices of the Move column and of a city's "What changed" ("" = today).
RANKING_SINCE = (("", "Today"), ("24h", "24 hours"), ("7d", "7 days"), ("30d", "30 days"))
CITY_SINCE = (("", "Today"), ("7d", "7 days"), ("30d", "30 days"))

_previous: dict[str, tuple[str | None, dict[str, int]]] = {}  # per index date, per process


def pillar_list(m: Methodology) -> list[dict[str, Any]]:
    """Return the pillars with their display index (for colour classes)."""
    return [{"code": p.code, "name": p.name, "weight": p.weight, "index": i,
             "description": p.description, "derived": p.derived}
            for i, p in enumerate(m.pillars)]


def sort_key(sort: str) -> Any:
    """Return a sort key for ranking items: score descending, ties by city id (as the API)."""
    def key(item: dict[str, Any]) -> tuple[float, str]:
        value = item["score"] if sort == SORT_OVERALL else item["pillars"].get(sort)
        return (-(value if value is not None else -1.0), item["city_id"])
    return key


def previous_edition(city_ids: list[str], index_date: str) -> tuple[str | None, dict[str, int]]:
    """Return the previous index date and each city's rank at its end, from city histories."""
    hit = _previous.get(index_date)
    if hit is not None:
        return hit
    reader = ctx().reader
    histories = {c: reader.history(c) for c in city_ids}
    dates = {e["index_date"] for h in histories.values() for e in h
             if e.get("index_date") and e["index_date"] < index_date}
    prev_date = max(dates) if dates else None
    scores: list[tuple[str, float]] = []
    if prev_date is not None:
        for c, h in histories.items():
            last = [e for e in h if e.get("index_date") and e["index_date"] <= prev_date]
            if last and last[-1].get("score") is not None:
                scores.append((c, float(last[-1]["score"])))
    ranks = {r.city_id: r.rank for r in rank_scores(scores)}
    _previous[index_date] = (prev_date, ranks)
    return prev_date, ranks


def since_links(endpoint: str, args: Mapping[str, str], choices: tuple[tuple[str, str], ...],
                **path: str) -> list[dict[str, Any]]:
    """Return one link per since choice, keeping the page's other query parameters."""
    current = args.get("since") or ""
    keep: dict[str, Any] = {**path, **{k: v for k, v in args.items() if k != "since" and v}}
    return [{"value": value, "label": label, "current": value == current,
             "href": url_for(endpoint, **{**keep, **({"since": value} if value else {})})}
            for value, label in choices]


def _moment_of(version: int) -> Moment:
    return ctx().timeline.resolve("as_of", Point("version", version, str(version)))


def ranking_page(args: dict[str, str]) -> dict[str, Any]:
    """Build the ranking page: every ranked row, sorted and filtered as the URL asks, as it is
    now or as it was at as_of=, with each row's move since since= (default: today)."""
    c = ctx()
    pillars = pillar_list(c.methodology)
    codes = [p["code"] for p in pillars]
    sort = params.choice("sort", args.get("sort"), [SORT_OVERALL, *codes]) or SORT_OVERALL
    direction = params.choice("dir", args.get("dir"), ("asc", "desc")) or "desc"
    query = (args.get("q") or "").strip()
    doc = rankings_payload()  # honours region=, as_of=, since=
    past = doc.get("point_in_time")
    all_rows = c.timeline.rows(_moment_of(past["ranking_version"])) if past else c.ranked(None)[1]
    regions = sorted({r["region"] for r in all_rows if r.get("region")})
    items = sorted(doc["items"], key=sort_key(sort), reverse=direction == "asc")
    if query:
        q = query.lower()
        items = [i for i in items if q in (i["name"] or "").lower()
                 or q in (i["country"] or "").lower() or q in i["city_id"]]
    prev_date, prev_ranks = None, None
    for item in items:
        item.update(rank_then=None, movement=None, new=False, score_change=None)
    if "since" in doc and any(i["change"]["rank_before"] is not None for i in doc["items"]):
        basis = "since"
        for item in items:
            change = item["change"]
            item["rank_then"] = change["rank_before"]
            item["movement"] = change["places_gained"]
            item["new"] = change["rank_before"] is None
            item["score_change"] = change["score_change"]
    elif past is None:
        # Nobody was ranked at the since point (history starts with an empty index): count
        # from the previous edition, else from when the page was opened.
        ids = [r["city_id"] for r in all_rows] + [u["city_id"] for u in doc["unranked"]]
        prev_date, ranks = previous_edition(ids, doc["index_date"])
        basis = "edition" if prev_date else "opened"
        prev_ranks = ranks if prev_date else None
        for item in items:
            before = ranks.get(item["city_id"])
            item["rank_then"] = before
            item["movement"] = None if before is None else before - item["rank"]
            item["new"] = prev_date is not None and before is None
    else:
        basis = "none"  # a past ranking asked about a later since: nothing to compare
    unranked = [{**u, "name": name_of(u["city_id"])} for u in doc["unranked"]]
    api_args = {k: args[k] for k in ("as_of", "since") if args.get(k)}
    return {"doc": doc, "items": items, "pillars": pillars, "regions": regions,
            "sort": sort, "dir": direction, "region": doc["region"] or "", "q": query,
            "total": len(all_rows), "unranked": unranked, "prev_date": prev_date,
            "threshold": c.methodology.coverage_threshold,
            "stale_after_days": c.methodology.stale_after_days,
            "prev_ranks": prev_ranks, "basis": basis, "past": past,
            "since_block": doc.get("since"), "since": args.get("since") or "",
            "as_of": args.get("as_of") or "", "api_args": api_args,
            "since_links": since_links("views.ranking", args, RANKING_SINCE),
            "pillar_names": {**{p.code: p.name for p in c.methodology.pillars},
                             **{i.code: i.name for i in c.methodology.indicators}},
            "as_of_value": _local_input(past["resolved_at"]) if past else ""}


def _local_input(iso_time: str) -> str:
    """Return an RFC 3339 time as a datetime-local value in UTC (seconds)."""
    return datetime.fromisoformat(iso_time).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _peer_means(rows: list[dict[str, Any]], at: int, codes: list[str]) -> dict[str, float | None]:
    peers = rows[max(0, at - PEER_SPAN): at] + rows[at + 1: at + 1 + PEER_SPAN]
    out: dict[str, float | None] = {}
    for code in codes:
        values = [p["pillars"][code] for p in peers if p["pillars"].get(code) is not None]
        out[code] = mean(values) if values else None
    return out


def _projects_view(projects: dict[str, Any], m: Methodology) -> dict[str, Any]:
    stages = list(m.projects.stages)
    sectors = []
    for sector, by_stage in projects["by_sector_stage"].items():
        sectors.append({"sector": sector, "total": sum(by_stage.values()), "by_stage": by_stage})
    sectors.sort(key=lambda s: (-s["total"], s["sector"]))
    widest = max((s["total"] for s in sectors), default=0)
    for s in sectors:
        s["pieces"] = charts.stack(s["by_stage"], stages, widest)
    owners = list(m.projects.owners)
    total_owned = sum(projects["by_owner"].values())
    return {"total": projects["total"], "sectors": sectors, "stages": stages,
            "owners": [{"owner": o, "count": projects["by_owner"].get(o, 0), "index": i,
                        "share": projects["by_owner"].get(o, 0) / total_owned if total_owned else 0}
                       for i, o in enumerate(owners)],
            "owner_pieces": charts.stack(projects["by_owner"], owners, total_owned),
            "latest": projects["latest"]}


def _history_view(doc: dict[str, Any], entries: list[dict[str, Any]], now_ms: int | None,
                  m: Methodology) -> dict[str, Any]:
    """Lay out the score and rank charts over every kept entry; entries that moved are marked
    with their largest change."""
    series: list[tuple[float, float | None]] = []
    ranks: list[tuple[float, float | None]] = []
    marks: list[str | None] = []
    prev: float | None = None
    for e in entries:
        series.append((float(e["t"]), e.get("score")))
        ranks.append((float(e["t"]), e.get("rank")))
        change = top_change(e, m)
        if change is None and e.get("score") is not None and prev is not None \
                and e["score"] != prev:
            change = f"score {fmt_signed(e['score'] - prev)}"
        marks.append(change)
        e["moved"] = change
        if e.get("score") is not None:
            prev = e["score"]
    if doc["score"] is not None and now_ms and (not entries or now_ms > entries[-1]["t"]):
        # Others' changes move a city's rank without a history entry: add "now".
        series.append((float(now_ms), doc["score"]))
        ranks.append((float(now_ms), doc["rank"]))
        marks.append(None)
    return {"entries": entries,
            "score": charts.line_chart(series, lo=0, hi=100, min_span=10, marks=marks),
            "rank": charts.line_chart(ranks, height=140, invert=True, lo=1, min_span=4,
                                      integer=True, label_fmt="rank {:.0f}", marks=marks)}


def city_page(city_id: str, args: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """Build a city's profile (now, or at as_of=): scores, peers, strengths, indicators,
    projects, history, and what changed since since= (default: today)."""
    args = args or {}
    c = ctx()
    doc = city_payload(city_id)  # honours as_of=
    if doc is None:
        return None
    past = doc.get("point_in_time")
    m = c.methodology
    pillars = pillar_list(m)
    codes = [p["code"] for p in pillars]
    rows = c.timeline.rows(_moment_of(past["ranking_version"])) if past else c.ranked(None)[1]
    at = next((i for i, r in enumerate(rows) if r["city_id"] == city_id), None)
    means = _peer_means(rows, at, codes) if at is not None else dict.fromkeys(codes)
    pillar_rows = []
    for p in pillars:
        got = doc["pillars"].get(p["code"], {})
        score, avg = got.get("score"), means[p["code"]]
        diff = score - avg if score is not None and avg is not None else None
        pillar_rows.append({**p, **got, "peer_mean": avg, "diff": diff})
    strengths = sorted((r for r in pillar_rows if r["diff"] is not None
                        and r["diff"] >= STRENGTH_POINTS), key=lambda r: -r["diff"])
    weaknesses = sorted((r for r in pillar_rows if r["diff"] is not None
                         and r["diff"] <= -STRENGTH_POINTS), key=lambda r: r["diff"])
    groups = []
    for p in pillars:
        inds = []
        for ind in m.pillar_indicators(p["code"]):
            inds.append({"code": ind.code, "name": ind.name, "unit": ind.unit,
                         "direction": ind.direction, "raw": None, "normalised": None,
                         "observed_at": None, "derived": ind.derived is not None,
                         **doc["indicators"].get(ind.code, {})})
        groups.append({**p, "coverage": doc["pillars"].get(p["code"], {}).get("coverage"),
                       "indicators": inds})
    peers = {"above": rows[max(0, at - 2): at] if at is not None else [],
             "below": rows[at + 1: at + 3] if at is not None else []}
    region_total = sum(1 for r in rows if r.get("region") == doc["region"])
    entries = c.reader.history(city_id)
    if past:
        entries = [e for e in entries if e["ranking_version"] <= past["ranking_version"]]
    return {"city": doc, "pillars": pillars, "pillar_rows": pillar_rows,
            "strengths": strengths, "weaknesses": weaknesses, "groups": groups,
            "projects": None if doc["projects"] is None else _projects_view(doc["projects"], m),
            "peers": peers, "total": len(rows), "region_total": region_total,
            "peer_span": PEER_SPAN, "strength_points": STRENGTH_POINTS,
            "history": _history_view(doc, entries,
                                     None if past else c.reader.meta().updated_ms, m),
            "past": past, "as_of": args.get("as_of") or "",
            "changed": explain_view(city_id, args, past),
            "gap": None if past or doc["score"] is None else gap_view(city_id),
            "since_links": since_links("views.city", args, CITY_SINCE, city_id=city_id),
            "as_of_value": _local_input(past["resolved_at"]) if past else "",
            "compare_with": (rows[at - 1] if at else rows[1] if len(rows) > 1 and at == 0
                             else None)}


def parse_compare(values: list[str]) -> list[str]:
    """Return the distinct city ids named by c= values (comma-separated or repeated)."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def compare_page(ids: list[str]) -> tuple[dict[str, Any], int]:
    """Build the comparison of 2-4 cities and the HTTP status it deserves."""
    c = ctx()
    m = c.methodology
    _, rows = c.ranked(None)
    choices = sorted(({"city_id": r["city_id"], "name": r["name"]} for r in rows),
                     key=lambda r: (r["name"] or "").lower())
    docs, missing = [], []
    for city_id in ids[:MAX_COMPARE]:
        doc = city_payload(city_id, history=1)
        if doc is None:
            missing.append(city_id)
        else:
            docs.append(doc)
    status, error = 200, None
    if len(ids) > MAX_COMPARE:
        status, error = 400, f"Compare at most {MAX_COMPARE} cities at a time."
    elif missing:
        status, error = 404, "Not in the index: " + ", ".join(missing) + "."
    elif 0 < len(ids) < 2:
        error = "Choose at least two cities to compare."
    pillars = pillar_list(m)
    lines: list[dict[str, Any]] = [{"code": SORT_OVERALL, "name": "Overall score", "index": None,
              "scores": [d["score"] for d in docs], "ranks": [d["rank"] for d in docs]}]
    for p in pillars:
        lines.append({**p, "scores": [d["pillars"].get(p["code"], {}).get("score") for d in docs],
                      "ranks": [d["pillars"].get(p["code"], {}).get("rank") for d in docs]})
    for line in lines:
        known = [v for v in line["scores"] if v is not None]
        line["best"] = max(known) if len(known) > 1 else None
        line["span"] = (min(known), max(known)) if len(known) > 1 else None
    groups = []
    for p in pillars:
        inds = []
        for ind in m.pillar_indicators(p["code"]):
            cells = [d["indicators"].get(ind.code) for d in docs]
            known = [x["normalised"] for x in cells if x]
            inds.append({"code": ind.code, "name": ind.name, "unit": ind.unit, "cells": cells,
                         "best": max(known) if len(known) > 1 else None})
        groups.append({**p, "indicators": inds})
    return {"cities": docs, "ids": [d["city_id"] for d in docs], "choices": choices,
            "lines": lines, "groups": groups, "error": error, "max": MAX_COMPARE,
            "slots": max(MAX_COMPARE, len(docs))}, status


def methodology_page() -> dict[str, Any]:
    """Build the methodology page from the methodology in force."""
    m = ctx().methodology
    pillars = pillar_list(m)
    for p in pillars:
        inds = m.pillar_indicators(p["code"])
        total = sum(i.weight for i in inds)
        p["indicators"] = [{**i.__dict__, "share": i.weight / total} for i in inds]
    return {"m": m, "pillars": pillars, "weight_total": sum(p.weight for p in m.pillars)}


CITY_CSV_HEADER = ["level", "code", "name", "pillar", "unit", "raw", "score", "rank",
                   "coverage", "observed_at", "event_id"]


def city_csv(doc: dict[str, Any], pillars: tuple[Pillar, ...]) -> str:
    """Return a city's overall, pillar and indicator rows as CSV (full precision)."""
    rows: list[list[Cell]] = [["overall", "", doc["name"], "", "score 0-100", "", doc["score"],
                               doc["rank"], doc["coverage"], "", ""]]
    for p in pillars:
        got = doc["pillars"].get(p.code, {})
        rows.append(["pillar", p.code, p.name, p.code, "score 0-100", "", got.get("score"),
                     got.get("rank"), got.get("coverage"), "", ""])
    for code, ind in doc["indicators"].items():
        rows.append(["indicator", code, ind.get("name", code), ind.get("pillar", ""),
                     ind.get("unit", ""), ind.get("raw"), ind.get("normalised"), "", "",
                     ind.get("observed_at") or "", ind.get("event_id") or ""])
    return csv_text(CITY_CSV_HEADER, rows)

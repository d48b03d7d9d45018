"""Page models for the HTML views, built from the JSON API's documents.

Every number shown on a page comes from the same helpers as the API (`rankings_payload`,
`city_payload`, the ranked rows), so a page and its download always agree.
"""

from __future__ import annotations

from statistics import mean
from typing import Any

from services.web import charts
from services.web.api import city_payload, ctx, rankings_payload
from services.web.csvsafe import Cell, csv_text
from shared.methodology import Methodology, Pillar
from shared.scoring.ranking import rank_scores

SORT_OVERALL = "overall"
STRENGTH_POINTS = 5.0  # a pillar this far above (below) the peers' mean is a strength (weakness)
PEER_SPAN = 5  # peers for strengths: this many cities ranked above and below
MAX_COMPARE = 4

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


def _name_of(city_id: str) -> str:
    result = ctx().reader.result(city_id) or {}
    return str((result.get("profile") or {}).get("name") or city_id)


def ranking_page(args: dict[str, str]) -> dict[str, Any]:
    """Build the ranking page: every ranked row, sorted and filtered as the URL asks."""
    c = ctx()
    pillars = pillar_list(c.methodology)
    codes = [p["code"] for p in pillars]
    sort = args.get("sort") or SORT_OVERALL
    if sort not in codes:
        sort = SORT_OVERALL
    direction = "asc" if args.get("dir") == "asc" else "desc"
    query = (args.get("q") or "").strip()
    doc = rankings_payload()  # honours region=
    _, all_rows = c.ranked(None)
    regions = sorted({r["region"] for r in all_rows if r.get("region")})
    items = sorted(doc["items"], key=sort_key(sort), reverse=direction == "asc")
    if query:
        q = query.lower()
        items = [i for i in items if q in (i["name"] or "").lower()
                 or q in (i["country"] or "").lower() or q in i["city_id"]]
    ids = [r["city_id"] for r in all_rows] + [u["city_id"] for u in doc["unranked"]]
    prev_date, prev_ranks = previous_edition(ids, doc["as_of"])
    for item in items:
        before = prev_ranks.get(item["city_id"])
        item["movement"] = None if before is None else before - item["rank"]
        item["new"] = prev_date is not None and before is None
    unranked = [{**u, "name": _name_of(u["city_id"])} for u in doc["unranked"]]
    return {"doc": doc, "items": items, "pillars": pillars, "regions": regions,
            "sort": sort, "dir": direction, "region": doc["region"] or "", "q": query,
            "total": len(all_rows), "unranked": unranked, "prev_date": prev_date,
            "threshold": c.methodology.coverage_threshold,
            "stale_after_days": c.methodology.stale_after_days,
            "prev_ranks": prev_ranks if prev_date else None}


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


def _history_view(doc: dict[str, Any], updated_ms: int | None) -> dict[str, Any]:
    entries = list(doc["history"])
    series = [(float(e["t"]), e.get("score")) for e in entries]
    ranks = [(float(e["t"]), e.get("rank")) for e in entries]
    if doc["score"] is not None and updated_ms and (not entries or updated_ms > entries[-1]["t"]):
        # Others' changes move a city's rank without a history entry: add "now".
        series.append((float(updated_ms), doc["score"]))
        ranks.append((float(updated_ms), doc["rank"]))
    return {"entries": entries,
            "score": charts.line_chart(series, lo=0, hi=100, min_span=10),
            "rank": charts.line_chart(ranks, height=140, invert=True, lo=1, min_span=4,
                                      integer=True, label_fmt="rank {:.0f}")}


def city_page(city_id: str) -> dict[str, Any] | None:
    """Build a city's profile: scores, peers, strengths, indicators, projects, history."""
    c = ctx()
    doc = city_payload(city_id)
    if doc is None:
        return None
    m = c.methodology
    pillars = pillar_list(m)
    codes = [p["code"] for p in pillars]
    _, rows = c.ranked(None)
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
    return {"city": doc, "pillars": pillars, "pillar_rows": pillar_rows,
            "strengths": strengths, "weaknesses": weaknesses, "groups": groups,
            "projects": _projects_view(doc["projects"], m), "peers": peers,
            "total": len(rows), "region_total": region_total, "peer_span": PEER_SPAN,
            "strength_points": STRENGTH_POINTS,
            "history": _history_view(doc, c.reader.meta().updated_ms),
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

"""Adoption measures derived from a city's project records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.contract.methodology import Methodology


def active_projects(projects: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return projects not removed, in project-id order."""
    return [projects[k] for k in sorted(projects) if not projects[k].get("removed")]


def owner_sides(projects: list[dict[str, Any]]) -> tuple[float, float]:
    """Return the (public, private) sides of projects; a partnership counts half on each."""
    public = sum(1 for p in projects if p["owner"] == "public")
    private = sum(1 for p in projects if p["owner"] == "private")
    partnership = len(projects) - public - private
    return public + 0.5 * partnership, private + 0.5 * partnership


def adoption_measures(
    projects: dict[str, dict[str, Any]], methodology: Methodology, index_date: date
) -> dict[str, float]:
    """Compute the adoption measures the methodology names; a measure with no data is left out.

    Counted deployments are the live projects (not removed, not retired, started by the
    index date) at a deployed stage whose deployment date is on or before the index date.
    The count measures (deployed_projects, sector_breadth, speed, scaled_projects,
    minority_side_deployed) only grow when a project is added or moves to a later stage up
    to scaled, and only shrink when one is removed or retired; the two ratios of 2025.1
    (public_private_mix, scaled_share) can fall when a deployment is added.
    """
    vocab = methodology.projects
    # As of the index date: projects not yet started do not count, and a deployment dated
    # after the index date has not happened yet.
    live = [p for p in active_projects(projects)
            if p["stage"] != "retired" and date.fromisoformat(p["started_at"]) <= index_date]
    if not live:
        return {}
    window_start = index_date - timedelta(days=methodology.speed_window_days)
    deployed = []
    recent = 0
    for p in live:
        if p["stage"] not in vocab.deployed_stages:
            continue
        reached = date.fromisoformat(p["deployed_at"] or p["started_at"])
        if reached > index_date:
            continue
        deployed.append(p)
        if window_start < reached:
            recent += 1
    scaled = sum(1 for p in deployed if p["stage"] == "scaled")
    wanted = methodology.derived_measures()
    measures: dict[str, float] = {
        "deployed_projects": float(len(deployed)),
        "sector_breadth": float(len({p["sector"] for p in deployed})),
        "speed": float(recent),
        "scaled_projects": float(scaled),
    }
    if "minority_side_deployed" in wanted:
        measures["minority_side_deployed"] = min(owner_sides(deployed))
    if "public_private_mix" in wanted:
        pub, priv = owner_sides(live)
        measures["public_private_mix"] = 1.0 - abs(pub - priv) / len(live)
    if deployed:
        measures["scaled_share"] = scaled / len(deployed)
    return {k: v for k, v in measures.items() if k in wanted}


def project_summary(projects: dict[str, dict[str, Any]], latest: int = 10) -> dict[str, Any]:
    """Summarise projects by sector x stage and by owner, with the latest ones."""
    live = active_projects(projects)
    by_sector_stage: dict[str, dict[str, int]] = {}
    by_owner: dict[str, int] = {}
    for p in live:
        row = by_sector_stage.setdefault(p["sector"], {})
        row[p["stage"]] = row.get(p["stage"], 0) + 1
        by_owner[p["owner"]] = by_owner.get(p["owner"], 0) + 1
    ids = sorted((k for k in projects if not projects[k].get("removed")),
                 key=lambda k: (projects[k]["started_at"], k), reverse=True)[:latest]
    return {
        "total": len(live),
        "by_sector_stage": {k: by_sector_stage[k] for k in sorted(by_sector_stage)},
        "by_owner": {k: by_owner[k] for k in sorted(by_owner)},
        "latest": [
            {"project_id": k, **{f: projects[k][f] for f in (
                "name", "organization", "sector", "owner", "stage", "started_at", "deployed_at")}}
            for k in ids
        ],
    }

"""Adoption measures derived from a city's project records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from shared.contract.methodology import Methodology


def active_projects(projects: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Return projects not removed, in project-id order."""
    return [projects[k] for k in sorted(projects) if not projects[k].get("removed")]


@dataclass(frozen=True)
class ProjectTally:
    """What the adoption measures count of a city's projects as of the index date."""

    live: int  # live projects: not removed, not retired, started by the index date
    live_owners: tuple[int, int, int]  # (public, private, partnership) among the live
    deployed: int  # live projects at a deployed stage whose deployment date has come
    deployed_owners: tuple[int, int, int]  # (public, private, partnership) among them
    sectors: frozenset[str]  # the sectors of the deployed projects
    recent: int  # deployments inside the speed window
    scaled: int  # deployed projects at the scaled stage

    def plus(self, count: int, sector: str, owner: str, stage: str) -> ProjectTally:
        """Return the tally with `count` more live projects started and deployed on the index
        date (stage one of the deployed stages) in one sector, for one owner."""
        add = tuple(count if o == owner else 0 for o in OWNERS)
        return replace(
            self, live=self.live + count,
            live_owners=_sum3(self.live_owners, add), deployed=self.deployed + count,
            deployed_owners=_sum3(self.deployed_owners, add),
            sectors=self.sectors | {sector}, recent=self.recent + count,
            scaled=self.scaled + (count if stage == "scaled" else 0))


OWNERS = ("public", "private", "partnership")


def _sum3(a: tuple[int, int, int], b: tuple[int, ...]) -> tuple[int, int, int]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def _owners(projects: list[dict[str, Any]]) -> tuple[int, int, int]:
    public = sum(1 for p in projects if p["owner"] == "public")
    private = sum(1 for p in projects if p["owner"] == "private")
    return public, private, len(projects) - public - private


def _sides(owners: tuple[int, int, int]) -> tuple[float, float]:
    public, private, partnership = owners
    return public + 0.5 * partnership, private + 0.5 * partnership


def owner_sides(projects: list[dict[str, Any]]) -> tuple[float, float]:
    """Return the (public, private) sides of projects; a partnership counts half on each."""
    return _sides(_owners(projects))


def project_tally(projects: dict[str, dict[str, Any]], methodology: Methodology,
                  index_date: date) -> ProjectTally | None:
    """Count what the adoption measures need as of the index date (None: no live project).

    Counted deployments are the live projects (not removed, not retired, started by the
    index date) at a deployed stage whose deployment date is on or before the index date.
    """
    vocab = methodology.projects
    # As of the index date: projects not yet started do not count, and a deployment dated
    # after the index date has not happened yet.
    live = [p for p in active_projects(projects)
            if p["stage"] != "retired" and date.fromisoformat(p["started_at"]) <= index_date]
    if not live:
        return None
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
    return ProjectTally(
        live=len(live), live_owners=_owners(live), deployed=len(deployed),
        deployed_owners=_owners(deployed), sectors=frozenset(p["sector"] for p in deployed),
        recent=recent, scaled=sum(1 for p in deployed if p["stage"] == "scaled"))


def tally_measures(tally: ProjectTally | None, methodology: Methodology) -> dict[str, float]:
    """Return the adoption measures the methodology names from a tally (none without one)."""
    if tally is None:
        return {}
    wanted = methodology.derived_measures()
    measures: dict[str, float] = {
        "deployed_projects": float(tally.deployed),
        "sector_breadth": float(len(tally.sectors)),
        "speed": float(tally.recent),
        "scaled_projects": float(tally.scaled),
    }
    if "minority_side_deployed" in wanted:
        measures["minority_side_deployed"] = min(_sides(tally.deployed_owners))
    if "public_private_mix" in wanted:
        pub, priv = _sides(tally.live_owners)
        measures["public_private_mix"] = 1.0 - abs(pub - priv) / tally.live
    if tally.deployed:
        measures["scaled_share"] = tally.scaled / tally.deployed
    return {k: v for k, v in measures.items() if k in wanted}


def adoption_measures(
    projects: dict[str, dict[str, Any]], methodology: Methodology, index_date: date
) -> dict[str, float]:
    """Compute the adoption measures the methodology names; a measure with no data is left out.

    The count measures (deployed_projects, sector_breadth, speed, scaled_projects,
    minority_side_deployed) only grow when a project is added or moves to a later stage up
    to scaled, and only shrink when one is removed or retired; the two ratios of 2025.1
    (public_private_mix, scaled_share) can fall when a deployment is added.
    """
    return tally_measures(project_tally(projects, methodology, index_date), methodology)


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

"""Pay before you work: what a batch costs its feed, charged before the work it buys.

One quota unit per item of a batch, taken before it is parsed or validated (so a feed over
its budget is refused for the price of one Redis call, and items that turn out invalid
cost what valid ones cost), then, for the work that grows with a city's size rather than
with the batch (a dry run's impact, the review gate's judgement of a scoped batch), a share
of a unit per record of those cities' state, taken before the state is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.domain.records import Feed

if TYPE_CHECKING:
    from shared.commands.accept import Ports


@dataclass(frozen=True)
class Throttled(Exception):
    """Nothing stored: the feed (or everyone) must wait `retry_after` seconds."""

    reason: str
    retry_after: int
    scope: str = "feed"  # "feed" or "global"


def _take(feed: Feed, units: int, ports: Ports, now: datetime, reason: str) -> None:
    """Take units from the feed's quota; raise Throttled (nothing taken) if they do not fit.

    A price above the feed's burst takes the whole bucket (the bucket never holds more).
    """
    assert ports.quota is not None
    wait = ports.quota.take(feed.name, units, int(now.timestamp() * 1000))
    if wait > 0:
        raise Throttled(reason, max(1, math.ceil(wait)))


def charge(feed: Feed, events: int, ports: Ports, now: datetime) -> None:
    """Charge a batch of `events` items to its feed before any work on them; raise Throttled.

    Everyone waits while the scoring backlog is over its bound; a scoped feed also while
    its own events waiting hold more than its share, or when its quota lacks the units.
    The HTTP view calls this as it reads a body (one unit, then the rest once the items are
    counted); accept() charges whatever its caller did not.
    """
    limits = ports.limits
    if ports.log.backlog() > limits.backlog_limit:
        raise Throttled("scoring backlog is over its bound; retry later",
                        limits.retry_after_seconds, "global")
    if feed.admin:  # operators' own feeds (loading, corrections) are not throttled per feed
        return
    share = int(limits.backlog_limit * limits.feed_backlog_share)
    if ports.log.feed_backlog(feed.name) > share:
        raise Throttled(f"feed {feed.name!r} has over {share} events waiting for scoring "
                        "(its share of the backlog); retry later", limits.retry_after_seconds)
    if ports.quota is not None and events > 0:
        _take(feed, events, ports, now, f"feed {feed.name!r} is over its rate limit; retry later")


def charge_state(cities: list[str], feed: Feed, ports: Ports, now: datetime) -> None:
    """Charge a scoped feed what reading these cities' state will cost, before it is read."""
    if feed.admin or not cities or ports.quota is None or ports.cities is None:
        return
    records = sum(ports.cities.state_sizes(cities))
    units = math.ceil(records * ports.limits.state_record_cost)
    if units > 0:
        _take(feed, units, ports, now,
              f"feed {feed.name!r} is over its rate limit: this batch's cities hold {records} "
              f"records (project records and queued events) that a dry run or the review "
              f"must read, at {ports.limits.state_record_cost:g} of the quota each; retry later")


class Meter:
    """Charge a feed for a body's items as they are counted, each unit once.

    Call it with the number of items known so far (1 for the request itself, before its
    body is read; the body's count before its items are parsed): it charges only what goes
    beyond what it already charged. `paid` goes to accept() so nothing is charged twice.
    """

    def __init__(self, feed: Feed, ports: Ports, now: datetime) -> None:
        self.feed, self.ports, self.now = feed, ports, now
        self.paid = 0

    def __call__(self, items: int) -> None:
        """Charge the items beyond those already paid for; raise Throttled if they do not fit."""
        if items > self.paid:
            charge(self.feed, items - self.paid, self.ports, self.now)
            self.paid = items

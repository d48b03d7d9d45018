"""Read side of the index: the ranking, city results, history and the change stream."""

from __future__ import annotations

from typing import Any

from shared.contract.jsonfast import loads
from shared.domain.records import IndexMeta, public_entry
from shared.domain.scoring.ranking import rank_scores
from shared.store import keys as K
from shared.store import lua
from shared.store.connection import Client
from shared.store.history import read_entries


class RankingReader:
    """Read what the scoring workers published."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._ranked = lua.register(client, "ranked")

    def meta(self) -> IndexMeta:
        """Return the index date, ranking version, methodology and last update time."""
        date, version, methodology, updated, bands = self.client.hmget(
            K.INDEX, "date", "version", "methodology", "updated_ms", "bands")
        return IndexMeta(date, int(version or 0), methodology,
                         int(updated) if updated else None,
                         int(bands) if bands is not None else -1)

    def ranked_count(self) -> int:
        """Return how many cities have an overall rank."""
        return int(self.client.zcard(K.RANK_OVERALL))

    def version(self) -> int:
        """Return the current ranking version (one cheap read)."""
        return int(self.client.hget(K.INDEX, "version") or 0)

    def ranked(self, pillar: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        """Return (ranking version, rows with rank) by overall score or one pillar's score.

        Version, scores and cards are read by one script, at one instant, so they agree.
        """
        key = K.RANK_OVERALL if pillar is None else K.rank_pillar(pillar)
        version, flat, cards = self._ranked(keys=[key])
        card_of = dict(zip(flat[0::2], cards))
        ranked = rank_scores(zip(flat[0::2], map(float, flat[1::2])))
        rows = []
        for item in ranked:
            card = card_of[item.city_id]
            row = loads(card) if card else {"city_id": item.city_id}
            row["rank"] = item.rank
            if pillar is not None:
                row["pillar_score"] = item.score
            rows.append(row)
        return int(version or 0), rows

    def scores(self) -> list[tuple[str, float]]:
        """Return every ranked city's overall score at full precision."""
        return [(c, float(v)) for c, v in self.client.zrange(K.RANK_OVERALL, 0, -1,
                                                             withscores=True)]

    def unranked(self) -> list[dict[str, str]]:
        """Return cities without an overall score and why, by city id."""
        return [{"city_id": c, "reason": r} for c, r in sorted(self.client.hgetall(K.UNRANKED).items())]

    def result(self, city: str) -> dict[str, Any] | None:
        """Return a city's full scoring result, or None if the city is unknown."""
        raw = self.client.get(K.city_result(city))
        return None if raw is None else dict(loads(raw))

    def published_state(self, city: str) -> tuple[dict[str, Any] | None, str | None]:
        """Return a city's committed state and the index date it was scored at (one read:
        the commit writes both together), or (None, None) for an unknown city."""
        state, result = self.client.mget(K.city_state(city), K.city_result(city))
        if state is None or result is None:
            return None, None
        return dict(loads(state)), loads(result).get("index_date")

    def ranks(self, pillar: str | None = None) -> tuple[int, dict[str, int]]:
        """Return (ranking version, competition rank of every ranked city) overall or in a pillar.

        The ranks come from rank_scores, the one definition of a rank; the version is read
        first, so a commit in between pairs an older version with newer scores, never the
        reverse (a cache keyed by the version then refreshes on the next read).
        """
        key = K.RANK_OVERALL if pillar is None else K.rank_pillar(pillar)
        # No MULTI: Redis refuses to queue any command, reads included, inside MULTI once
        # used memory passes maxmemory, which turned every city read into a 500 when full.
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(K.INDEX, "version")
        pipe.zrange(key, 0, -1, withscores=True)
        version, pairs = pipe.execute()
        return int(version or 0), {r.city_id: r.rank for r in rank_scores(pairs)}

    def history(self, city: str, limit: int = 0) -> list[dict[str, Any]]:
        """Return a city's score and rank entries, oldest first (the last `limit` if given)."""
        return [public_entry(e) for e in read_entries(self.client, city, limit=limit)]

    def changes_after(self, last_id: str, block_ms: int, count: int = 200
                      ) -> list[tuple[str, dict[str, Any]]]:
        """Return ranking changes after a stream id, waiting up to block_ms for one."""
        reply = self.client.xread({K.CHANGES: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        return [(sid, loads(fields["c"])) for sid, fields in reply[0][1]]

    def changes_raw_after(self, last_id: str, block_ms: int, count: int = 500
                          ) -> list[tuple[str, str]]:
        """Return (stream id, change JSON) after a stream id, waiting up to block_ms for one."""
        reply = self.client.xread({K.CHANGES: last_id}, count=count, block=block_ms)
        if not reply:
            return []
        return [(sid, fields["c"]) for sid, fields in reply[0][1]]

    def changes_between(self, after_id: str, before_id: str | None, count: int = 1000
                        ) -> list[tuple[str, str]]:
        """Return up to count (stream id, change JSON) strictly after after_id and, if
        given, strictly before before_id, oldest first."""
        end = f"({before_id}" if before_id else "+"
        rows = self.client.xrange(K.CHANGES, f"({after_id}", end, count=count)
        return [(sid, fields["c"]) for sid, fields in rows]

    def last_change_id(self) -> str:
        """Return the newest change stream id ('0-0' if none)."""
        rows = self.client.xrevrange(K.CHANGES, count=1)
        return str(rows[0][0]) if rows else "0-0"

    def first_change_id(self) -> str | None:
        """Return the oldest retained change id (older ones were trimmed)."""
        rows = self.client.xrange(K.CHANGES, count=1)
        return str(rows[0][0]) if rows else None

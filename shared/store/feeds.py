"""Feed tokens: scoped to cities (or all, for admin feeds), stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable

from shared.contract.events import SLUG_RE
from shared.domain.records import Feed
from shared.store import keys as K
from shared.store.connection import Client


def token_hash(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_MISSES = 10_000  # tokens remembered as unknown per store; past it the memory starts over


class FeedStore:
    """Create, revoke, list and authenticate feeds.

    miss_ttl > 0: a token that authenticates no feed is remembered as unknown that long (in
    this object, per process), so a flood of requests with one bogus token costs one Redis
    read. Only misses are remembered: a revoked token stops working at once, and a new one
    cannot have missed before (it is random and shown once).
    """

    def __init__(self, client: Client, miss_ttl: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.miss_ttl = miss_ttl
        self.clock = clock
        self._misses: dict[str, float] = {}  # token hash -> until (clock)

    def create(self, name: str, cities: list[str] | None) -> str:
        """Create a feed and return its token (shown once; only the hash is kept)."""
        if not SLUG_RE.match(name):
            raise ValueError(f"feed name {name!r}: must be a lowercase slug")
        for city in cities or []:
            if not SLUG_RE.match(city):
                raise ValueError(f"city {city!r}: must be a lowercase slug")
        token = "aci_" + secrets.token_urlsafe(32)
        record = {"cities": None if cities is None else sorted(set(cities)),
                  "token_sha256": token_hash(token), "created_at": time.time()}
        if not self.client.hsetnx(K.FEEDS, name, json.dumps(record)):
            raise ValueError(f"feed {name!r} already exists (revoke it first)")
        self.client.hset(K.FEED_TOKENS, record["token_sha256"], name)
        return token

    def revoke(self, name: str) -> bool:
        """Delete a feed and its token; return False if there was none."""
        raw = self.client.hget(K.FEEDS, name)
        if raw is None:
            return False
        record = json.loads(raw)
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(K.FEED_TOKENS, record["token_sha256"])
        pipe.hdel(K.FEEDS, name)
        pipe.execute()
        return True

    def list(self) -> list[Feed]:
        """Return every feed, by name."""
        out = []
        for name, raw in sorted(self.client.hgetall(K.FEEDS).items()):
            out.append(self._feed(name, raw))
        return out

    def stored_records(self) -> dict[str, dict[str, str]]:
        """Return everything stored about feeds (records and token hashes), for audits."""
        return {"feeds": self.client.hgetall(K.FEEDS), "tokens": self.client.hgetall(K.FEED_TOKENS)}

    def authenticate(self, token: str) -> Feed | None:
        """Return the feed a token belongs to, or None."""
        digest = token_hash(token)
        if self.miss_ttl > 0 and self._misses.get(digest, 0.0) > self.clock():
            return None
        name = self.client.hget(K.FEED_TOKENS, digest)
        raw = None if name is None else self.client.hget(K.FEEDS, name)
        if raw is None:
            self._missed(digest)
            return None
        return self._feed(name, raw)

    def _missed(self, digest: str) -> None:
        if self.miss_ttl <= 0:
            return
        if len(self._misses) >= MAX_MISSES:
            self._misses.clear()
        self._misses[digest] = self.clock() + self.miss_ttl

    @staticmethod
    def _feed(name: str, raw: str) -> Feed:
        record = json.loads(raw)
        cities = record["cities"]
        return Feed(name, None if cities is None else frozenset(cities), record["created_at"])

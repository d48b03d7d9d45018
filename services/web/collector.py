"""Pipeline gauges read from Redis at scrape time (one consistent view for every replica)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.messaging import QUEUE
from shared.store import keys as K

# kombu's Redis transport keeps one list per priority step: "<queue>" and "<queue>\x06\x16<p>".
_QUEUE_KEYS = [QUEUE] + [f"{QUEUE}\x06\x16{p}" for p in (3, 6, 9)]


class PipelineCollector(Collector):
    """Expose backlog, freshness, ranking and Redis health as gauges."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the pipeline's state from Redis."""
        up = GaugeMetricFamily("aicity_redis_up", "1 if Redis answered the scrape, else 0.")
        try:
            families = list(self._read())
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        c = self.client
        pipe = c.pipeline(transaction=False)
        pipe.xlen(K.LOG)
        pipe.scard(K.DIRTY)
        pipe.get(K.BACKLOG)
        pipe.hmget(K.INDEX, "version", "updated_ms")
        pipe.zcard(K.RANK_OVERALL)
        pipe.hlen(K.UNRANKED)
        pipe.scard(K.CITIES)
        for key in _QUEUE_KEYS:
            pipe.llen(key)
        (log_len, dirty, backlog, (version, updated), ranked, unranked, cities,
         *queued) = pipe.execute()
        oldest_ms = None
        sample = c.srandmember(K.DIRTY, 200) or []
        if sample:
            pipe = c.pipeline(transaction=False)
            for city in sample:
                pipe.lindex(K.inbox(city), 0)
            heads = [h for h in pipe.execute() if h]
            if heads:
                # an inbox starts with the oldest event's log id: "<append ms>-<seq>"
                oldest_ms = min(int(h.split("-", 1)[0]) for h in heads)
        mem = c.info("memory")
        persistence = c.info("persistence")

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            return g

        yield gauge("aicity_event_log_length", "Events in the durable event log.", log_len)
        yield gauge("aicity_dirty_cities", "Cities whose published score lags their events.", dirty)
        yield gauge("aicity_backlog_events", "Accepted events not yet folded into a score.",
                    int(backlog or 0))
        yield gauge("aicity_oldest_pending_event_age_seconds",
                    "Age of the oldest unscored event (sampled over up to 200 dirty cities).",
                    0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000))
        yield gauge("aicity_ranking_version", "Ranking version (commits that changed it).",
                    int(version or 0))
        yield gauge("aicity_ranking_last_update_timestamp_seconds",
                    "Unix time of the last ranking change.", int(updated or 0) / 1000)
        g = GaugeMetricFamily("aicity_cities", "Cities by ranking status.", labels=["status"])
        g.add_metric(["ranked"], ranked)
        g.add_metric(["unranked"], unranked)
        g.add_metric(["known"], cities)
        yield g
        # Named as the celery-exporter names it, so its community dashboards and alerts work.
        q = GaugeMetricFamily("celery_queue_length",
                              "Celery messages waiting in the broker queue (recompute triggers).",
                              labels=["queue_name"])
        q.add_metric([QUEUE], sum(queued))
        yield q
        yield gauge("aicity_redis_used_memory_bytes", "Redis used memory.", mem["used_memory"])
        yield gauge("aicity_redis_aof_enabled", "1 if Redis appends to its AOF.",
                    int(persistence.get("aof_enabled", 0)))
        yield gauge("aicity_redis_aof_last_write_ok",
                    "1 if the last AOF write succeeded.",
                    1 if persistence.get("aof_last_write_status", "ok") == "ok" else 0)

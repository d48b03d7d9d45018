"""Pipeline gauges read from Redis at scrape time (one consistent view for every replica)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.platform.messaging import QUEUE
from shared.store.pipeline import read_pipeline_state
from shared.store.review import ReviewStore


class PipelineCollector(Collector):
    """Expose backlog, freshness, ranking and Redis health as gauges."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.review = ReviewStore(client)

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
        state = read_pipeline_state(self.client)

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc)
            g.add_metric([], value)
            return g

        yield gauge("aicity_event_log_length", "Events in the durable event log (retained).",
                    state.log_length)
        yield gauge("aicity_dirty_cities", "Cities whose published score lags their events.",
                    state.dirty_cities)
        yield gauge("aicity_backlog_events", "Accepted events not yet folded into a score.",
                    state.backlog)
        yield gauge("aicity_oldest_pending_event_age_seconds",
                    "Age of the oldest unscored event (sampled over up to 200 dirty cities).",
                    0.0 if state.oldest_pending_ms is None
                    else max(0.0, time.time() - state.oldest_pending_ms / 1000))
        held, oldest_held_ms = self.review.stats()
        yield gauge("aicity_review_held_events", "Events held for review (implausible jumps "
                    "from scoped feeds) awaiting an operator's release or rejection.", held)
        yield gauge("aicity_review_oldest_held_age_seconds",
                    "Age of the oldest event held for review (0 when none is held).",
                    0.0 if oldest_held_ms is None
                    else max(0.0, time.time() - oldest_held_ms / 1000))
        yield gauge("aicity_ranking_version", "Ranking version (commits that changed it).",
                    state.ranking_version)
        yield gauge("aicity_ranking_last_update_timestamp_seconds",
                    "Unix time of the last ranking change.", state.updated_ms / 1000)
        yield gauge("aicity_events_dead_lettered", "Events ever dead-lettered (could not be "
                    "applied; marked failed with their reason).", state.dead_lettered)
        g = GaugeMetricFamily("aicity_cities", "Cities by ranking status.", labels=["status"])
        g.add_metric(["ranked"], state.ranked)
        g.add_metric(["unranked"], state.unranked)
        g.add_metric(["known"], state.cities)
        yield g
        # Named as the celery-exporter names it, so its community dashboards and alerts work.
        q = GaugeMetricFamily("celery_queue_length",
                              "Celery messages waiting in the broker queue (recompute triggers).",
                              labels=["queue_name"])
        q.add_metric([QUEUE], state.queued_messages)
        yield q
        used, limit = state.used_memory, state.maxmemory
        yield gauge("aicity_redis_used_memory_bytes", "Redis used memory.", used)
        yield gauge("aicity_redis_max_memory_bytes",
                    "Redis maxmemory (0: no limit). At it, Redis refuses every write.", limit)
        yield gauge("aicity_redis_memory_used_ratio",
                    "Redis used memory / maxmemory (0 when no maxmemory is set); ingest "
                    "refuses events from AICITY_REDIS_MEMORY_HIGH_RATIO (0.9).",
                    used / limit if limit else 0.0)
        yield gauge("aicity_redis_aof_enabled", "1 if Redis appends to its AOF.",
                    int(state.aof_enabled))
        yield gauge("aicity_redis_aof_last_write_ok", "1 if the last AOF write succeeded.",
                    int(state.aof_last_write_ok))

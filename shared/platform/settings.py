"""Typed, frozen settings read once from the environment, with localhost defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis AUTH password, combined with redis_url by redis_dsn() (services, CLI, Celery).
    redis_password: str = ""
    redis_maxmemory: str = "2gb"  # the runner's and compose's Redis `maxmemory`
    # Ingest refuses new events (503) once Redis holds this share of maxmemory, so scoring
    # keeps the headroom it needs to drain what was accepted.
    redis_memory_high_ratio: float = 0.9
    methodology: str = "2025.2"
    ingest_max_body_bytes: int = 16 * 1024 * 1024
    ingest_max_batch: int = 10_000
    backlog_limit: int = 2_000_000  # events waiting for scoring before ingest answers 429
    retry_after_seconds: int = 5
    occurred_at_max_skew_seconds: int = 300  # occurred_at later than now plus this is refused
    # Per scoped (non-admin) feed: events/s sustained and at once (at least one full batch).
    feed_rate_limit: float = 2_000.0
    feed_burst: int = 20_000
    # Distinct project ids one city may hold (removed ones keep their record): past it new
    # project ids are refused per item, so a city's state, and what a dry run, a review
    # judgement or a recompute of it costs, stays bounded. The largest reference city has
    # a few hundred.
    max_projects_per_city: int = 2_000
    feed_backlog_share: float = 0.5  # share of backlog_limit one feed's unscored events may hold
    # Event ids (dedup and status) and the event log are kept this long; older events live
    # on as the winning entries of each city's state (export writes those, then the log).
    event_retention_seconds: int = 86_400
    pending_ttl_seconds: int = 10  # a lost recompute message is re-sent after this
    sweep_interval_seconds: float = 2.0
    visibility_timeout_seconds: int = 300
    recompute_max_events: int = 20_000  # events one recompute folds in at most
    # History kept for as_of= and explanations: '<age>=<resolution>' tiers, youngest first.
    # 'all' keeps every ranking version; older ones keep each city's last entry per bucket
    # (s, m, h, d units); nothing older than the last age is kept.
    history_tiers: str = "1h=all,1d=10m,14d=1h,400d=1d"
    history_max_entries: int = 20_000  # per city, a guard against floods inside the 'all' tier
    history_compact_interval_seconds: int = 60  # how often the sweeper thins history
    changes_maxlen: int = 10_000
    worker_metrics_port: int = 9101  # 0 disables the scoring worker's metrics server
    worker_metrics_host: str = "127.0.0.1"
    sse_max_viewers: int = 5000  # open SSE streams per web process; past it 503 + Retry-After
    log_level: str = "INFO"
    log_json: bool = True
    # Post an index.ticked event for the current UTC date every day (off by default: the
    # reference dataset is pinned to its 2025-06-30 index date).
    daily_tick: bool = False
    # Review (docs/methodology.md section 9.1): events one feed may have held at once (past it
    # new would-be-held items are rejected per item), and how long a held event waits for an
    # operator before it is rejected as 'expired'.
    review_max_held_per_feed: int = 1_000
    review_held_retention_seconds: int = 7 * 86_400
    # Ingest's Redis connections per process (a blocking pool): a request waits this many
    # seconds for a free one, then gets 503 + Retry-After instead of opening more.
    ingest_redis_connections: int = 64
    ingest_redis_pool_timeout_seconds: float = 3.0
    # Ingest remembers a token that authenticates no feed this long (per process), so a
    # burst of requests with one bogus token costs one Redis read, not one each.
    token_miss_cache_seconds: float = 2.0
    # Quota a scoped feed pays per record (project record or queued event) of each city a
    # dry run touches, or a real batch has judged by the review gate, on top of one per item.
    state_record_cost: float = 0.5
    # Webhooks run in their own lane (services/hooks, queue aicity.hooks): greenlets of the
    # hooks worker (gevent pool), its metrics port (0 disables; host: worker_metrics_host),
    # one attempt's whole-request deadline (connect, headers and body), the most of a
    # receiver's answer read, and how long one delivery task may send before re-queueing.
    hooks_concurrency: int = 50
    hooks_metrics_port: int = 9102
    hooks_attempt_deadline_seconds: float = 5.0
    hooks_response_max_bytes: int = 4096
    hooks_task_budget_seconds: float = 10.0

    def redis_dsn(self) -> str:
        """Return redis_url with redis_password filled in (unless the URL carries one)."""
        if not self.redis_password:
            return self.redis_url
        parts = urlsplit(self.redis_url)
        if parts.password:
            return self.redis_url
        host = parts.netloc.rpartition("@")[2]
        netloc = f"{parts.username or ''}:{quote(self.redis_password, safe='')}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from AICITY_* environment variables (e.g. AICITY_REDIS_URL)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"AICITY_{f.name.upper()}")
            if raw is None:
                continue
            kind: Any = type(f.default)
            try:
                if kind is bool:
                    values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                else:
                    values[f.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(f"AICITY_{f.name.upper()}: must be a {kind.__name__}") from exc
        return replace(cls(**values), **overrides)

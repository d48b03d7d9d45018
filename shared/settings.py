"""Typed, frozen settings read once from the environment, with localhost defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    methodology: str = "2025.1"
    ingest_max_body_bytes: int = 16 * 1024 * 1024
    ingest_max_batch: int = 10_000
    backlog_limit: int = 2_000_000  # events waiting for scoring before ingest answers 429
    retry_after_seconds: int = 5
    pending_ttl_seconds: int = 10  # a lost recompute message is re-sent after this
    sweep_interval_seconds: float = 2.0
    visibility_timeout_seconds: int = 300
    recompute_max_events: int = 20_000  # events one recompute folds in at most
    history_length: int = 500
    changes_maxlen: int = 10_000
    worker_metrics_port: int = 9101  # 0 disables the scoring worker's metrics server
    log_level: str = "INFO"
    log_json: bool = True
    # Post an index.ticked event for the current UTC date every day (off by default: the
    # reference dataset is pinned to its 2025-06-30 index date).
    daily_tick: bool = False

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

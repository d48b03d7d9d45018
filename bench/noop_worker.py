"""A bare Celery no-op task on the same broker settings: the floor the pipeline is compared to."""

from __future__ import annotations

import os

import redis

from shared.platform.messaging import make_celery
from shared.platform.settings import Settings

settings = Settings.from_env()
app = make_celery(settings, main="aicity-bench-noop")
app.conf.task_default_queue = "aicity.bench.noop"
_client = redis.Redis.from_url(settings.redis_dsn())


@app.task(name="bench.noop")
def noop() -> None:
    """Count one round trip."""
    _client.incr("bench:noop:done")


if os.environ.get("BENCH_NOOP_PID_FILE"):
    with open(os.environ["BENCH_NOOP_PID_FILE"], "w") as fh:
        fh.write(str(os.getpid()))

"""Gunicorn config for the HTTP services: Prometheus multiprocess mode, set before import."""

import os
import shutil
import tempfile

_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="aicity-prom-")
shutil.rmtree(_dir, ignore_errors=True)  # stale files from a previous run would add up
os.makedirs(_dir, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _dir

from prometheus_client import multiprocess  # noqa: E402  (after the env var, on purpose)

accesslog = None
graceful_timeout = 10
timeout = 120


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Drop a dead worker's live gauges."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

# Gunicorn's own records (start, worker boot/exit, errors) as JSON lines like the apps'.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "shared.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}

"""The processes of the system, one table shared by `aicity run` and docker-compose.yml."""

from __future__ import annotations

from shared.platform.messaging import HOOKS_QUEUE, QUEUE

# Commands as argv lists, with {placeholders}; docker-compose.yml runs the same ones
# (a test checks), with ports and hosts from its own environment.
SERVICES: dict[str, list[str]] = {
    # Both HTTP services on gevent workers (shared/platform/gunicorn_conf.py bounds what a client may
    # hold): a connection costs a greenlet, so viewers and slow clients cannot starve them.
    "ingest": ["gunicorn", "-c", "python:shared.platform.gunicorn_conf", "--workers", "{ingest_workers}",
               "--worker-class", "gevent", "--bind", "{host}:{ingest_port}",
               "services.ingest.wsgi:app"],
    "web": ["gunicorn", "-c", "python:shared.platform.gunicorn_conf", "--workers", "{web_workers}",
            "--worker-class", "gevent", "--bind", "{host}:{web_port}", "services.web.wsgi:app"],
    "worker": ["celery", "-A", "services.scoring.worker", "worker", "--pool", "solo", "-Q", QUEUE,
               "--hostname", "{worker_name}@%h", "--without-gossip", "--without-mingle",
               "--loglevel", "INFO"],
    # Webhooks in their own lane: many greenlets (AICITY_HOOKS_CONCURRENCY), each attempt
    # under a whole-request deadline, so a slow receiver holds one greenlet, not scoring.
    "hooks": ["celery", "-A", "services.hooks.worker", "worker", "--pool", "gevent", "-Q",
              HOOKS_QUEUE, "--hostname", "{hooks_name}@%h", "--without-gossip",
              "--without-mingle", "--loglevel", "INFO"],
    "beat": ["celery", "-A", "services.scoring.worker", "beat", "--schedule",
             "{data_dir}/celerybeat-schedule", "--loglevel", "WARNING"],
}


def command(name: str, **values: object) -> list[str]:
    """Return the argv of a service with its placeholders filled in."""
    return [part.format(**values) for part in SERVICES[name]]

"""Process plumbing: settings, logs, the Celery wiring, HTTP serving and health checks."""

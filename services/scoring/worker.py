"""Celery entry point: `celery -A services.scoring.worker worker`."""

from services.scoring.tasks import create_worker_app

app = create_worker_app()

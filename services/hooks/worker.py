"""Celery entry point: `celery -A services.hooks.worker worker --pool gevent -Q aicity.hooks`."""

from services.hooks.tasks import create_hooks_app

app = create_hooks_app()

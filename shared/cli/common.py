"""Helpers the CLI commands share."""

from __future__ import annotations

import argparse

from shared.settings import Settings
from shared.store.connection import Client, redis_client


def add_redis_arg(p: argparse.ArgumentParser) -> None:
    """Add --redis-url (default: AICITY_REDIS_URL or localhost)."""
    p.add_argument("--redis-url", default=None, help="Redis URL (default $AICITY_REDIS_URL)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Return settings from the environment with the command's overrides."""
    overrides = {}
    if getattr(args, "redis_url", None):
        overrides["redis_url"] = args.redis_url
    return Settings.from_env(**overrides)


def client_from(args: argparse.Namespace) -> Client:
    """Return a Redis client for the command."""
    return redis_client(settings_from(args))

"""The `aicity` command line."""

from __future__ import annotations

import argparse
import sys

import redis

from shared.cli import demo, feeds, gap, hooks, load, replay, review, run, score
from shared.cli import startup as bootstrap
from shared.cli.common import HINT, redis_url_for_messages
from shared.store.health import is_oom_error


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="aicity", description="AI City Index tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (score, gap, feeds, hooks, load, replay, review, run, bootstrap, demo):
        module.add_parser(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _unreachable(exc: BaseException) -> bool:
    """Return True for a Redis that cannot be reached or refuses our credentials."""
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, redis.AuthenticationError)):
        return True
    # NOAUTH / WRONGPASS may arrive as a plain ResponseError on some redis-py paths.
    return isinstance(exc, redis.ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS"))


def redis_error_message(exc: redis.RedisError, url: str) -> str:
    """Return the one line printed for a Redis failure (never the password)."""
    if _unreachable(exc):
        return f"aicity: error: cannot reach Redis at {url} ({_one_line(exc)}); {HINT}"
    if is_oom_error(exc):
        return (f"aicity: error: Redis at {url} is out of memory (maxmemory reached): "
                "free memory or raise AICITY_REDIS_MAXMEMORY, then retry")
    return f"aicity: error: Redis at {url} answered: {_one_line(exc)}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; failures print one line on stderr and exit non-zero."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except redis.RedisError as exc:
        print(redis_error_message(exc, redis_url_for_messages(args)), file=sys.stderr)
        return 2
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"aicity: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

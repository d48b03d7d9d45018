"""Container health checks: `python -m shared.platform.healthcheck worker` and `... http URL`.

The scoring worker runs Celery's solo pool, so a worker busy in a long recompute cannot
answer a remote-control ping. It is therefore healthy when

1. its metrics server (a thread, answers even mid-task) serves the scoring metrics, and
2. it answers a Celery ping sent to its own node name through the broker, or, failing
   that, it committed a recompute within the last --busy-seconds (busy, not stuck).

`python -m shared.platform.healthcheck hooks` checks the hooks worker the same way (its metrics
serve the webhook metrics; its gevent pool answers a ping even while receivers hang).

Exit status 0 means healthy, 1 unhealthy; one line on stdout says why.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time
import urllib.error
import urllib.request

from shared.platform.settings import Settings

_LAST = re.compile(r"^aicity_scoring_last_recompute_timestamp_seconds\s+(\S+)$", re.MULTILINE)


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return int(exc.code), ""


def check_http(url: str, timeout: float) -> tuple[bool, str]:
    """Healthy when url answers 200."""
    try:
        status, _ = _get(url, timeout)
    except OSError as exc:
        return False, f"{url}: {exc}"
    return status == 200, f"{url}: HTTP {status}"


def _ping(settings: Settings, destination: str, timeout: float) -> bool:
    from shared.platform.messaging import make_celery

    app = make_celery(settings, main="aicity-healthcheck")
    try:
        replies = app.control.ping(destination=[destination], timeout=timeout)
    except Exception:  # noqa: BLE001 - broker unreachable counts as no answer
        return False
    finally:
        app.close()
    return any(destination in reply for reply in replies or [])


def check_worker(settings: Settings, destination: str, port: int, timeout: float,
                 busy_seconds: float, expect: str = "aicity_scoring_") -> tuple[bool, str]:
    """Check one worker: metrics server up (serving `expect`), then ping or recent progress."""
    last: float | None = None
    if port:
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            status, text = _get(url, timeout)
        except OSError as exc:
            return False, f"metrics server {url} unreachable: {exc}"
        if status != 200 or expect not in text:
            return False, f"metrics server {url} answered {status} without {expect}* metrics"
        match = _LAST.search(text)
        last = float(match.group(1)) if match else None
    if _ping(settings, destination, timeout):
        return True, f"{destination} answered ping"
    if last and time.time() - last <= busy_seconds:
        return True, f"{destination} busy (no ping reply) but recomputed {time.time() - last:.0f} s ago"
    return False, f"{destination} did not answer a ping within {timeout} s and made no progress"


def main(argv: list[str] | None = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m shared.platform.healthcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    for what, node, port, variable in (
            ("worker", "scoring", settings.worker_metrics_port, "AICITY_WORKER_METRICS_PORT"),
            ("hooks", "hooks", settings.hooks_metrics_port, "AICITY_HOOKS_METRICS_PORT")):
        w = sub.add_parser(what, help=f"check the {node} worker of this container")
        w.add_argument("--destination", default=f"{node}@{socket.gethostname()}",
                       help=f"Celery node name (default: {node}@<hostname>, as docker-compose "
                            "names it)")
        w.add_argument("--port", type=int, default=port,
                       help=f"the worker's metrics port ({variable}; 0 skips it)")
        w.add_argument("--timeout", type=float, default=5.0)
        if what == "worker":  # a solo pool cannot answer a ping mid-task; greenlets can
            w.add_argument("--busy-seconds", type=float, default=120.0,
                           help="a worker that recomputed this recently counts as busy, not stuck")
    h = sub.add_parser("http", help="check that a URL answers 200 (e.g. /readyz)")
    h.add_argument("url")
    h.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.what == "worker":
        ok, why = check_worker(settings, args.destination, args.port, args.timeout,
                               args.busy_seconds)
    elif args.what == "hooks":  # greenlets answer pings while others wait on receivers
        ok, why = check_worker(settings, args.destination, args.port, args.timeout, 0.0,
                               expect="aicity_webhook_")
    else:
        ok, why = check_http(args.url, args.timeout)
    print(("healthy: " if ok else "unhealthy: ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""`aicity load PATH --token T`: stream NDJSON/CSV events to the ingest API in batches."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ENVELOPE = ("event_id", "type", "city_id", "occurred_at")
NUMERIC = {"value", "population", "lat", "lon"}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the load command."""
    p = sub.add_parser("load", help="send NDJSON/CSV event files to the ingest API")
    p.add_argument("path", type=Path, help="a file or a folder of .ndjson/.csv files")
    p.add_argument("--token", required=True, help="feed token")
    p.add_argument("--url", default="http://127.0.0.1:8001", help="ingest base URL")
    p.add_argument("--batch", type=int, default=1000, help="events per request")
    p.add_argument("--report", type=Path, default=Path("rejections.ndjson"),
                   help="where rejected events and their errors are written")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def event_files(path: Path) -> list[Path]:
    """Return the event files at path, in name order."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".ndjson", ".csv") and p.is_file())


def _csv_events(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            event: dict[str, Any] = {k: row[k] for k in ENVELOPE if row.get(k)}
            data: dict[str, Any] = {}
            for key, value in row.items():
                if key in ENVELOPE or value in (None, ""):
                    continue
                data[key] = json.loads(value) if key in NUMERIC else value
            event["data"] = data
            yield event


def read_events(path: Path) -> Iterator[str]:
    """Yield each event as one JSON line (NDJSON lines are passed through untouched)."""
    for file in event_files(path):
        if file.suffix == ".csv":
            for event in _csv_events(file):
                yield json.dumps(event)
        else:
            with file.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield line.rstrip("\n")


def post_batch(session: requests.Session, url: str, token: str, lines: list[str]) -> dict[str, Any]:
    """Post one NDJSON batch, retrying on 429, 503 and connection errors (event ids make it safe)."""
    body = ("\n".join(lines) + "\n").encode("utf-8")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    delay = 0.5
    for _ in range(30):
        try:
            resp = session.post(f"{url}/v1/events", data=body, headers=headers, timeout=120)
        except requests.ConnectionError:
            time.sleep(delay)
            delay = min(delay * 2, 10)
            continue
        if resp.status_code in (429, 503):  # throttled, or the store is full: wait, resend
            time.sleep(float(resp.headers.get("Retry-After", "1")))
            continue
        if resp.status_code in (202, 403, 422):
            return dict(resp.json())
        raise RuntimeError(f"ingest answered {resp.status_code}: {resp.text[:500]}")
    raise RuntimeError("ingest unreachable or throttling for too long")


def run(args: argparse.Namespace) -> int:
    """Send every event and print a summary; rejections go to the report file."""
    files = event_files(args.path)
    if not files:
        raise ValueError(f"{args.path}: no .ndjson or .csv files")
    total = sum(1 for _ in read_events(args.path))
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    session = requests.Session()
    with args.report.open("w", encoding="utf-8") as report, Progress(
        TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        disable=args.quiet or not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("events", total=total)
        batch: list[str] = []

        def flush() -> None:
            result = post_batch(session, args.url.rstrip("/"), args.token, batch)
            for key in counts:
                counts[key] += result[key]
            for item in result["results"]:
                if item["status"] == "rejected":
                    report.write(json.dumps({"event": json.loads(batch[item["index"]]),
                                             "errors": item["errors"]}) + "\n")
            progress.advance(task, len(batch))
            batch.clear()

        for line in read_events(args.path):
            batch.append(line)
            if len(batch) >= args.batch:
                flush()
        if batch:
            flush()
    print(f"{total} events: {counts['accepted']} accepted, {counts['duplicates']} duplicates, "
          f"{counts['rejected']} rejected" +
          (f" (see {args.report})" if counts["rejected"] else ""))
    return 0 if counts["rejected"] == 0 else 1

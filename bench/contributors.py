"""Bench phase for issue 12: dry-run latency of a 500-event batch (validation + predicted impact)."""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import requests

from tests.support.procs import Stack


def dry_run_phase(stack: Stack, token: str, events: list[dict[str, Any]], batch: int = 500,
                  rounds: int = 60) -> dict[str, Any]:
    """POST ?dry_run=true batches of `batch` events one after another; return latencies."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    bodies = [("\n".join(json.dumps(e) for e in events[i:i + batch]) + "\n").encode()
              for i in range(0, min(len(events), batch * rounds), batch)]
    latencies = []
    for body in bodies:
        t0 = time.perf_counter()
        resp = session.post(f"{stack.ingest_url}/v1/events?dry_run=true", data=body,
                            headers=headers, timeout=60)
        latencies.append(time.perf_counter() - t0)
        assert resp.status_code == 200, resp.text[:300]
        assert resp.json()["impact"], "a dry run answers with the predicted impact"
    latencies.sort()
    return {"batches": len(latencies), "batch": batch,
            "p50_ms": 1000 * statistics.median(latencies),
            "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
            "max_ms": 1000 * latencies[-1]}

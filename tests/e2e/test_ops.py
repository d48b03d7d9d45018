"""Operations on a running stack: /metrics, a real Prometheus, the Grafana dashboard, health, logs.

One stack (Redis, ingest, web, one scoring worker, the hooks worker, beat) serves the whole
module; the test that stops Redis runs last. Needs Debian's `prometheus` package (`promtool`
and the server).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared.store.feeds import FeedStore
from tests.support.events import city, event, indicator, post
from tests.support.procs import REPO, Stack, free_port, wait_for

pytestmark = pytest.mark.e2e

PROM_DIR = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "aicity.json"
DATASOURCE = REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")

# Metrics Prometheus makes itself, not the services.
SYNTHETIC = {"up"}
# Labels allowed on our metrics: never a city, event or feed id (unbounded cardinality).
ALLOWED_LABELS = {"endpoint", "method", "status", "type", "outcome", "result", "task", "cause", "scope",
                  "queue_name", "le", "generation", "implementation", "major", "minor",
                  "patchlevel", "version"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}


@dataclass
class Ops:
    stack: Stack
    admin: str
    scoped: str  # a feed that may only write "seoul"
    tokens: list[str] = field(default_factory=list)  # every token used, for the log check

    def urls(self) -> dict[str, str]:
        port = self.stack.worker_ports["worker1"]
        return {"ingest": f"{self.stack.ingest_url}/metrics", "web": f"{self.stack.web_url}/metrics",
                "scoring": f"http://127.0.0.1:{port}/metrics",
                "hooks": f"http://127.0.0.1:{self.stack.hooks_ports['hooks']}/metrics"}


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    if not PROMTOOL or not PROMETHEUS:
        pytest.skip("Debian's prometheus package (promtool, prometheus) is not installed; "
                    "`.ci/run` installs it")
    stack = Stack(tmp_path_factory.mktemp("ops")).start(workers=1)
    try:
        admin = stack.admin_token()
        scoped = FeedStore(stack.redis.client()).create("seoul-feed", ["seoul"])
        yield Ops(stack, admin, scoped, [admin, scoped])
    finally:
        stack.stop()


def scrape(url: str) -> str:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, (url, resp.status_code)
    assert resp.headers["Content-Type"].startswith("text/plain"), resp.headers["Content-Type"]
    return resp.text


def check_metrics(text: str) -> subprocess.CompletedProcess[bytes]:
    """Run `promtool check metrics` on an exposition (stdin)."""
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), check=False,
                          capture_output=True, timeout=30)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Return {(sample name, labels): value} of an exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def total(text: str, name: str, **labels: str) -> float:
    """Sum the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples(text).items() if n == name and want <= lab)


def families(text: str) -> dict[str, str]:
    """Return {family name: type}; counters under both their name and name_total."""
    out = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = family.type
        if family.type == "counter":
            out[family.name + "_total"] = "counter"
    return out


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression selects (not functions, labels or keywords)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # range and subquery selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\w+", " ", e)  # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0).lower() in PROMQL_WORDS:
            continue  # a function or aggregation, or a keyword
        names.add(m.group(0))
    return names


def dashboard_exprs() -> list[str]:
    doc = json.loads(DASHBOARD.read_text())

    def walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    return [t["expr"] for p in walk(doc["panels"]) for t in p.get("targets", []) if t.get("expr")]


def alert_exprs() -> dict[str, str]:
    doc = yaml.safe_load((PROM_DIR / "alerts.yml").read_text())
    return {r["alert"]: r["expr"] for g in doc["groups"] for r in g["rules"] if "alert" in r}


# --- (a) every service's exposition is valid ---------------------------------------------

EXPECTED = {
    "ingest": ["aicity_ingest_http_requests_total", "aicity_ingest_http_request_duration_seconds",
               "aicity_ingest_events_total", "aicity_ingest_batch_size", "aicity_ingest_body_bytes",
               "aicity_ingest_throttled_total"],
    "web": ["aicity_web_http_requests_total", "aicity_web_http_request_duration_seconds",
            "aicity_web_sse_clients", "aicity_redis_up", "aicity_event_log_length",
            "aicity_dirty_cities", "aicity_backlog_events", "aicity_oldest_pending_event_age_seconds",
            "aicity_ranking_version", "aicity_ranking_last_update_timestamp_seconds",
            "aicity_cities", "aicity_redis_used_memory_bytes", "aicity_redis_aof_enabled",
            "aicity_redis_aof_last_write_ok", "celery_queue_length"],
    "scoring": ["aicity_scoring_events_applied_total", "aicity_scoring_recomputes_total",
                "aicity_scoring_events_per_recompute", "aicity_scoring_recompute_duration_seconds",
                "aicity_scoring_ack_to_visible_seconds", "aicity_scoring_task_failures_total",
                "aicity_scoring_task_retries_total", "aicity_scoring_rebuilds_total",
                "aicity_scoring_swept_cities_total", "aicity_scoring_last_recompute_timestamp_seconds"],
    # The hooks worker's own server: the webhook metrics moved there from scoring.
    "hooks": ["aicity_webhook_deliveries_total", "aicity_webhook_delivery_latency_seconds",
              "aicity_webhook_attempt_duration_seconds", "aicity_webhook_busy_total",
              "aicity_hooks_task_failures_total"],
}


def test_every_service_exposes_metrics_that_promtool_accepts(ops: Ops) -> None:
    # Some traffic first, so labelled series and histograms have samples to lint.
    assert post(ops.stack.ingest_url, ops.admin, [city("lintville")]).status_code == 202
    requests.get(f"{ops.stack.web_url}/api/v1/rankings", timeout=10)
    ops.stack.wait_idle(30)
    # Every process is still running (beat too: it imports the scoring metrics).
    dead = {n: svc.output()[-1500:] for n, svc in ops.stack.services.items()
            if svc.proc is None or svc.proc.poll() is not None}
    assert not dead, dead
    for name, url in ops.urls().items():
        text = scrape(url)
        check = check_metrics(text)
        assert check.returncode == 0, (name, check.stdout.decode(), check.stderr.decode())
        found = families(text)
        assert not [m for m in EXPECTED[name] if m not in found], (name, sorted(found))
        for sample, labels in samples(text):
            if sample.startswith(("aicity_", "celery_")):
                assert {k for k, _ in labels} <= ALLOWED_LABELS, (sample, labels)


# --- (b) the metrics move as the pipeline works ------------------------------------------

def test_counters_and_histograms_move_after_posting(ops: Ops) -> None:
    s = ops.stack
    urls = ops.urls()
    s.wait_idle(30)
    time.sleep(0.5)  # a worker bumps its counters just after its commit makes the city clean
    before = {name: scrape(url) for name, url in urls.items()}
    opsville = [city("opsville"), indicator("opsville", "gov.ai_strategy_score", 61.0),
                indicator("opsville", "gov.open_data_score", 52.0)]
    # One request per event: gunicorn's two workers share the load and /metrics must add
    # up both (multiprocess mode), whichever of them answers the scrape.
    for e in opsville:
        assert post(s.ingest_url, ops.admin, [e]).status_code == 202
    assert post(s.ingest_url, ops.admin, [opsville[0]]).json()["duplicates"] == 1
    bad = [indicator("opsville", "no.such_indicator", 1.0), event("bogus.type", "opsville", {})]
    assert post(s.ingest_url, ops.admin, bad).status_code == 422
    scope = post(s.ingest_url, ops.scoped, [indicator("opsville", "gov.open_data_score", 1.0)])
    assert scope.status_code == 403, scope.text
    for _ in range(3):
        assert requests.get(f"{s.web_url}/api/v1/rankings", timeout=10).status_code == 200
    s.wait_idle(30)

    def delta(service: str, name: str, **labels: str) -> float:
        return total(scrape(urls[service]), name, **labels) - total(before[service], name, **labels)

    ev = "aicity_ingest_events_total"
    assert delta("ingest", ev, outcome="accepted") == 3
    assert delta("ingest", ev, outcome="accepted", type="indicator.observed") == 2
    assert delta("ingest", ev, outcome="duplicate") == 1
    assert delta("ingest", ev, outcome="rejected_validation") == 2
    # An unknown type is counted as "invalid": untrusted input never becomes a label value.
    assert delta("ingest", ev, outcome="rejected_validation", type="invalid") == 1
    assert "bogus.type" not in scrape(urls["ingest"])
    assert delta("ingest", ev, outcome="rejected_scope") == 1
    assert delta("ingest", "aicity_ingest_http_requests_total", endpoint="ingest.post_events",
                 status="202") == 4
    assert delta("ingest", "aicity_ingest_batch_size_count") == 6
    assert delta("ingest", "aicity_ingest_http_request_duration_seconds_count",
                 endpoint="ingest.post_events") == 6
    # The worker's counters are updated after its commit: give the scrape a moment.
    wait_for(lambda: delta("scoring", "aicity_scoring_ack_to_visible_seconds_count") >= 3, 10,
             what="ack-to-visible observations")
    assert delta("scoring", "aicity_scoring_recomputes_total") >= 1
    assert delta("scoring", "aicity_scoring_events_applied_total", outcome="applied") == 3
    assert delta("scoring", "aicity_scoring_recompute_duration_seconds_count") >= 1
    assert delta("scoring", "aicity_scoring_task_failures_total") == 0
    assert delta("web", "aicity_web_http_requests_total", endpoint="api.rankings",
                 status="200") == 3
    web = scrape(urls["web"])
    assert total(web, "aicity_redis_up") == 1
    assert total(web, "aicity_redis_aof_enabled") == 1
    assert total(web, "aicity_backlog_events") == 0 and total(web, "aicity_dirty_cities") == 0
    assert total(web, "aicity_event_log_length") >= 4
    assert total(web, "aicity_cities", status="known") >= 2
    assert total(web, "aicity_ranking_version") >= 1
    assert time.time() - total(web, "aicity_ranking_last_update_timestamp_seconds") < 60


# --- (c) a real Prometheus server with the repo's config ---------------------------------

@dataclass
class Prom:
    url: str
    jobs: dict[str, list[str]]

    def api(self, path: str, **params: str) -> Any:
        resp = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        doc = resp.json()
        assert doc["status"] == "success", (path, params, doc)
        return doc["data"]


def local_config(tmp: Path, jobs: dict[str, list[str]]) -> Path:
    """Write the repo's config and rules to tmp, targets rewritten to loopback, 1 s intervals."""
    cfg = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    assert {c["job_name"] for c in cfg["scrape_configs"]} == set(jobs)
    for c in cfg["scrape_configs"]:
        for sd in [k for k in c if k.endswith("_configs")]:
            del c[sd]
        c["static_configs"] = [{"targets": jobs[c["job_name"]]}]
    for rule_file in cfg["rule_files"]:
        shutil.copy(PROM_DIR / rule_file, tmp / rule_file)
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def prom(ops: Ops, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    tmp = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    s = ops.stack
    jobs = {"ingest": [f"127.0.0.1:{s.ingest_port}"], "web": [f"127.0.0.1:{s.web_port}"],
            "scoring": [f"127.0.0.1:{p}" for p in s.worker_ports.values()],
            "hooks": [f"127.0.0.1:{p}" for p in s.hooks_ports.values()],
            "prometheus": [f"127.0.0.1:{port}"]}
    config = local_config(tmp, jobs)
    assert PROMTOOL is not None and PROMETHEUS is not None
    check = subprocess.run([PROMTOOL, "check", "config", str(config)], check=False,
                           capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    log = tmp / "prometheus.log"
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"{url}/-/ready", timeout=1).ok, 30, 0.2,
                 what=f"prometheus ready ({log})")
        yield Prom(url, jobs)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_prometheus_scrapes_every_service_with_the_repo_config(ops: Ops, prom: Prom) -> None:
    def targets() -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = prom.api("targets")["activeTargets"]
        return active

    def all_up() -> bool:
        t = targets()
        return len(t) == sum(len(v) for v in prom.jobs.values()) and all(
            x["health"] == "up" for x in t)

    try:
        wait_for(all_up, 30, 0.25, what="every target up")
    except TimeoutError:
        pytest.fail(f"targets not all up: {[(t['labels'], t['health'], t['lastError']) for t in targets()]}")
    assert {t["labels"]["job"] for t in targets()} == set(prom.jobs)

    def accepted() -> float:
        result = prom.api("query", query='sum(aicity_ingest_events_total{outcome="accepted"})')
        return float(result["result"][0]["value"][1]) if result["result"] else 0.0

    assert wait_for(accepted, 15, 0.25, what="ingest counter in Prometheus") >= 3
    up = prom.api("query", query="up")["result"]
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {j: "1" for j in prom.jobs}

    # The alert rules load and evaluate without error; nothing fires on a healthy stack.
    def rules() -> list[dict[str, Any]]:
        return [r for g in prom.api("rules")["groups"] for r in g["rules"]]

    # Before its first evaluation a rule's lastEvaluation is Go's zero time (year 0001).
    wait_for(lambda: all(not r.get("lastEvaluation", "0001").startswith("0001")
                         for r in rules()), 15, 0.25, what="rules evaluated")
    loaded = rules()
    assert {r["name"] for r in loaded} == set(alert_exprs())
    assert all(r["health"] == "ok" for r in loaded), [(r["name"], r.get("lastError")) for r in loaded]
    firing = [a for a in prom.api("alerts")["alerts"] if a["state"] == "firing"]
    assert firing == []


def test_every_dashboard_and_alert_query_runs_on_prometheus(prom: Prom) -> None:
    for expr in dashboard_exprs() + list(alert_exprs().values()):
        query = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
        prom.api("query", query=query)  # asserts status success: valid PromQL


# --- (d) the Grafana dashboard only names exported metrics -------------------------------

def test_dashboard_and_alerts_name_only_metrics_the_services_export(ops: Ops) -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert doc["uid"] and doc["panels"]
    uid = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]["uid"]
    live: dict[str, str] = {}
    sample_names: set[str] = set()
    for url in ops.urls().values():
        text = scrape(url)
        live.update(families(text))
        sample_names |= {name for name, _ in samples(text)}

    def exported(name: str) -> bool:
        if name in SYNTHETIC or name in sample_names:
            return True
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix):
                return live.get(name[: -len(suffix)]) == "histogram"
        return live.get(name) in ("gauge", "counter", "histogram")

    used: dict[str, set[str]] = {}
    for expr in dashboard_exprs():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(expr)
    for alert, expr in alert_exprs().items():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(alert)
    missing = {n: sorted(where) for n, where in used.items() if not exported(n)}
    assert not missing, missing
    # What the issue asks the dashboard to show.
    for name in ["aicity_ingest_events_total", "aicity_scoring_ack_to_visible_seconds_bucket",
                 "aicity_backlog_events", "aicity_scoring_recomputes_total",
                 "aicity_scoring_recompute_duration_seconds_bucket", "up", "aicity_redis_up",
                 "aicity_web_http_requests_total", "aicity_web_http_request_duration_seconds_bucket"]:
        assert name in used, name
    assert any("histogram_quantile(0.99" in e and "ack_to_visible" in e for e in dashboard_exprs())
    assert any("histogram_quantile(0.5" in e and "ack_to_visible" in e for e in dashboard_exprs())
    for p in doc["panels"]:
        if p.get("targets"):
            assert p["datasource"]["uid"] == uid, p["title"]


# --- (f) structured logs, and no token in any of them -----------------------------------

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def records(output: str) -> list[dict[str, Any]]:
    """Parse the JSON-lines records of a service's output (banners are plain text)."""
    out = []
    for line in output.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)  # a line that looks like JSON must be JSON
            assert TS.match(rec["ts"]), rec
            assert rec["level"] in ("debug", "info", "warning", "error", "critical"), rec
            assert isinstance(rec["logger"], str) and isinstance(rec["msg"], str), rec
            out.append(rec)
    return out


def test_logs_are_json_lines_and_never_contain_a_token(ops: Ops) -> None:
    s = ops.stack
    wrong = "aci_" + uuid.uuid4().hex + "wrongtoken"
    ops.tokens.append(wrong)
    assert post(s.ingest_url, wrong, [city("logville")]).status_code == 401
    r = requests.post(f"{s.ingest_url}/v1/events", json=[city("logville")], timeout=10,
                      headers={"Authorization": f"bearer {ops.admin}x"})
    assert r.status_code == 401
    r = requests.post(f"{s.ingest_url}/v1/events?token={ops.admin}", json=[], timeout=10)
    assert r.status_code == 401
    # Tokens inside the body, where a careless error log would echo them.
    body = [event(ops.admin, "logville", {"token": ops.admin}),
            indicator(ops.scoped, "gov.open_data_score", 1.0),
            city("logville", name=f"Logville {ops.scoped}"),
            {"event_id": ops.admin, "type": "city.upserted", "data": ops.scoped}]
    r = post(s.ingest_url, ops.admin, body)
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text
    assert post(s.ingest_url, ops.scoped, [city("logville")]).status_code == 403
    s.wait_idle(30)
    wait_for(lambda: '"city_id": "logville"' in s.services["worker1"].output(), 10,
             what="worker log of logville")

    outputs = {name: svc.output() for name, svc in s.services.items()}
    outputs["redis"] = (s.redis.data_dir / "redis.log").read_text(errors="replace")
    for name, text in outputs.items():
        for token in ops.tokens:
            assert token not in text, f"a feed token appears in the {name} log"
            assert token[4:] not in text, f"a feed token's secret part appears in the {name} log"

    # The HTTP services (gunicorn included) write nothing but JSON lines.
    for name in ("ingest", "web"):
        lines = [line for line in outputs[name].splitlines() if line.strip()]
        assert lines and len(records(outputs[name])) == len(lines), outputs[name][-2000:]
    ingest = [r for r in records(outputs["ingest"]) if r["logger"] == "aicity.ingest"]
    batches = [r for r in ingest if r["msg"] == "batch"]
    assert batches, outputs["ingest"][-2000:]
    assert {"feed", "events", "accepted", "rejected", "status"} <= set(batches[-1])
    assert {r["feed"] for r in batches} >= {"admin", "seoul-feed"}
    scoring = [r for r in records(outputs["worker1"]) if r["logger"] == "aicity.scoring"]
    recomputed = [r for r in scoring if r["msg"].startswith("recomputed")]
    assert recomputed, outputs["worker1"][-2000:]
    # logville was posted alone: its recompute record names the city.
    assert "logville" in {r.get("city_id") for r in recomputed}
    assert all(isinstance(r["ranking_version"], int) for r in recomputed)
    # Celery's own task records go through the same JSON formatter once the worker is up.
    assert any(r["logger"].startswith("celery.") for r in records(outputs["worker1"]))


# --- worker health check for docker-compose ----------------------------------------------

def healthcheck(ops: Ops, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.platform.healthcheck", *args], cwd=REPO,
                          env=ops.stack.env(), check=False, capture_output=True, text=True,
                          timeout=60)


def test_worker_health_check(ops: Ops) -> None:
    port = str(ops.stack.worker_ports["worker1"])
    me = f"worker1@{socket.gethostname()}"
    ok = healthcheck(ops, "worker", "--destination", me, "--port", port)
    assert ok.returncode == 0 and "answered ping" in ok.stdout, ok.stdout + ok.stderr
    # A node name nobody answers to, and a worker that recomputed long ago: unhealthy.
    gone = healthcheck(ops, "worker", "--destination", "nobody@nowhere", "--port", port,
                       "--timeout", "1", "--busy-seconds", "0")
    assert gone.returncode == 1 and "did not answer" in gone.stdout, gone.stdout + gone.stderr
    # ... but busy (no ping reply) with recent progress is healthy.
    busy = healthcheck(ops, "worker", "--destination", "nobody@nowhere", "--port", port,
                       "--timeout", "1", "--busy-seconds", "3600")
    assert busy.returncode == 0 and "busy" in busy.stdout, busy.stdout + busy.stderr
    dead = healthcheck(ops, "worker", "--destination", me, "--port", str(free_port()))
    assert dead.returncode == 1 and "unreachable" in dead.stdout, dead.stdout + dead.stderr
    hooks_port = str(ops.stack.hooks_ports["hooks"])
    hooks = healthcheck(ops, "hooks", "--destination", f"hooks@{socket.gethostname()}",
                        "--port", hooks_port)
    assert hooks.returncode == 0 and "answered ping" in hooks.stdout, hooks.stdout + hooks.stderr
    wrong = healthcheck(ops, "hooks", "--destination", f"hooks@{socket.gethostname()}",
                        "--port", port)  # the scoring worker's metrics are not the hooks'
    assert wrong.returncode == 1 and "aicity_webhook_" in wrong.stdout, wrong.stdout
    http = healthcheck(ops, "http", f"{ops.stack.ingest_url}/readyz")
    assert http.returncode == 0, http.stdout


# --- (e) /readyz follows Redis, /healthz does not (runs last: it stops Redis) -----------

def test_readyz_is_503_while_redis_is_down_and_healthz_stays_200(ops: Ops) -> None:
    s = ops.stack
    services = [s.ingest_url, s.web_url]

    def status(url: str, path: str) -> int:
        return requests.get(f"{url}{path}", timeout=15).status_code

    for url in services:
        assert status(url, "/healthz") == 200 and status(url, "/readyz") == 200
    s.redis.kill()
    try:
        for url in services:
            wait_for(lambda u=url: status(u, "/readyz") == 503, 15, 0.2,  # type: ignore[misc]
                     what=f"{url}/readyz 503")
            body = requests.get(f"{url}/readyz", timeout=15).json()
            assert body["status"] == "unavailable" and body["checks"]["redis"] != "ok", body
        for _ in range(3):
            for url in services:
                assert status(url, "/healthz") == 200
            time.sleep(0.2)
        web = scrape(f"{s.web_url}/metrics")
        assert total(web, "aicity_redis_up") == 0  # the collector reports, never raises
        check = check_metrics(web)
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    finally:
        s.redis.start()  # same port and data directory: the AOF brings the data back
    for url in services:
        wait_for(lambda u=url: status(u, "/readyz") == 200, 30, 0.2,  # type: ignore[misc]
                 what=f"{url}/readyz 200 again")
        assert status(url, "/healthz") == 200
    assert total(scrape(f"{s.web_url}/metrics"), "aicity_redis_up") == 1
    # The pipeline resumes: ingest accepts and the worker (reconnected to the broker) scores.
    assert post(s.ingest_url, ops.admin, [city("afterville")]).status_code == 202
    s.wait_idle(60)

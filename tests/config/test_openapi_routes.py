"""Every route a Flask app serves is in its service's OpenAPI document, and nothing more.

Before this test, a new route needed its OpenAPI path listed by hand and nothing compared
the two: the ops routes (/healthz, /readyz, /metrics, /openapi.json), the HTML pages and
the city CSV were served but undocumented; they are documented now (shared/contract/openapi.py
add_ops, services/web/openapi.py add_pages). The one route left out is Flask's own static
file route, which serves assets, not an operation.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from services.ingest.app import create_app as create_ingest
from services.web.app import create_app as create_web
from services.web.openapi import build_openapi
from shared.contract.events import EventCodec
from shared.contract.methodology import Methodology
from shared.contract.openapi import ingest_openapi
from shared.platform.settings import Settings

NOT_OPERATIONS = {"static"}  # Flask's /static/<path:filename>
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # answered by Flask for every GET route

# The apps connect to Redis only when a request needs it; building them needs none.
SETTINGS = Settings.from_env(redis_url="redis://127.0.0.1:9/0")


def served(app: Flask) -> set[tuple[str, str]]:
    """Return (OpenAPI path, method) for every route of app, <x> and <conv:x> as {x}."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_OPERATIONS:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        out |= {(path, method.lower()) for method in (rule.methods or set()) - IGNORED_METHODS}
    return out


def documented(doc: dict[str, Any], server: str | None = None) -> set[tuple[str, str]]:
    """Return (path, method) for every operation of doc (served by server, if given)."""
    out = set()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            urls = [s["url"] for s in operation.get("servers", doc.get("servers", []))]
            if server is None or any(u.endswith(server) for u in urls):
                out.add((path, method))
    return out


@pytest.mark.parametrize("service", ["ingest", "web"])
def test_every_route_is_documented_and_every_operation_served(
        service: str, methodology: Methodology) -> None:
    if service == "ingest":
        app, doc, port = create_ingest(SETTINGS), ingest_openapi(EventCodec(methodology)), None
    else:
        app, doc, port = create_web(SETTINGS), build_openapi(methodology), ":8000"
    routes = served(app)
    operations = documented(doc, port)
    assert routes - operations == set(), "served but not in the OpenAPI document"
    assert operations - routes == set(), "in the OpenAPI document but not served"


def test_the_web_document_lists_the_ingest_operations_on_the_ingest_server(
        methodology: Methodology) -> None:
    web = build_openapi(methodology)
    ingest = served(create_ingest(SETTINGS))
    on_ingest = documented(web, ":8001")
    # the ingest API's own operations; its ops routes are the ingest document's
    assert on_ingest == {(p, m) for p, m in ingest if p.startswith("/v1/")}


def test_a_path_parameter_is_translated_like_openapi_writes_it() -> None:
    app = Flask("probe")
    app.add_url_rule("/a/<city_id>/b/<int:n>.csv", "x", lambda **_: "")
    assert served(app) == {("/a/{city_id}/b/{n}.csv", "get")}

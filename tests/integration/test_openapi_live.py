"""The ingest service's real answers match the response schemas of its own OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.integration.conftest import Pipeline
from tests.support.events import city, indicator
from tests.support.procs import wait_for

pytestmark = pytest.mark.integration
DOC_URI = "urn:aicity:ingest"


def check(doc: dict[str, Any], component: str, body: Any) -> None:
    """Assert body validates against a component schema and uses only declared fields."""
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{component}"},
                         registry=registry).validate(body)
    declared = set(doc["components"]["schemas"][component]["properties"])
    assert set(body) <= declared, f"{component}: undeclared {set(body) - declared}"


def test_submission_status_and_error_bodies_match_the_document(pipeline: Pipeline) -> None:
    p = pipeline
    resp = p.ingest.get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    ok = indicator("docville", "gov.ai_strategy_score", 50)
    batch = [city("docville"), ok, ok, {**ok, "event_id": "not-a-uuid"}]
    resp = p.ingest.post("/v1/events", json=batch, headers=p.auth())
    assert resp.status_code == 202
    body = resp.get_json()
    check(doc, "Submission", body)
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted", "duplicate",
                                                       "rejected"]
    for item in body["results"]:
        check(doc, "ItemResult", item)
    status = wait_for(lambda: (s := p.ingest.get(f"/v1/events/{ok['event_id']}",
                                                 headers=p.auth()).get_json())["scored"] and s,
                      20, what="event scored")
    check(doc, "EventStatus", status)
    denied = p.ingest.post("/v1/events", json=batch, headers=p.auth("nope"))
    assert denied.status_code == 401
    check(doc, "Error", denied.get_json())

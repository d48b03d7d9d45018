"""The OpenAPI documents: valid OpenAPI 3.1, and the event schema is exactly what the codec accepts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from marshmallow import ValidationError
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from services.ingest.app import create_app as create_ingest
from services.web.openapi import build_openapi
from shared.contract.events import EVENT_TYPES, EventCodec
from shared.contract.methodology import Methodology
from shared.contract.openapi import DATA_SCHEMAS, ecma_pattern, ingest_openapi
from shared.platform.settings import Settings
from tests.unit.conftest import EventBuilder

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference-2025"
DOC_URI = "urn:aicity:openapi"


@pytest.fixture(scope="module")
def ingest_doc(codec: EventCodec) -> dict[str, Any]:
    """The ingest service's OpenAPI document."""
    return ingest_openapi(codec)


@pytest.fixture(scope="module")
def web_doc(methodology: Methodology) -> dict[str, Any]:
    """The web service's OpenAPI document (both APIs)."""
    return build_openapi(methodology)


def validator(doc: dict[str, Any], component: str) -> Draft202012Validator:
    """Return a JSON Schema validator for one component schema of doc."""
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{component}"},
                                registry=registry)


@pytest.fixture(scope="module")
def event_schema(ingest_doc: dict[str, Any]) -> Draft202012Validator:
    """A validator of one event against the document's Event schema."""
    return validator(ingest_doc, "Event")


def samples(build: EventBuilder) -> list[dict[str, Any]]:
    """Return raw events of every type: from the reference data and built with every field."""
    raws: list[dict[str, Any]] = []
    for name in ("cities", "indicators", "projects", "index"):
        with (REFERENCE / f"{name}.ndjson").open(encoding="utf-8") as fh:
            raws += [json.loads(line) for _, line in zip(range(25), fh)]
    raws.append(build.codec.dump(build.project("p-1", deployed_at="2024-06-01")))
    raws.append(build.codec.dump(build.removed("p-1")))
    raws.append({**build.codec.dump(build.tick("2025-07-01")), "city_id": None})
    assert {r["type"] for r in raws} == set(EVENT_TYPES)
    return raws


def codec_accepts(codec: EventCodec, raw: Any) -> bool:
    """Tell whether the codec accepts a raw event."""
    try:
        codec.load(raw)
    except ValidationError:
        return False
    return True


def mutations(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (what, event) with each field dropped, an unknown field added, city_id null."""
    for key in raw:
        yield f"without {key}", {k: v for k, v in raw.items() if k != key}
    for key in raw["data"]:
        yield f"without data.{key}", {**raw, "data": {k: v for k, v in raw["data"].items()
                                                      if k != key}}
    yield "unknown field", {**raw, "source": "x"}
    yield "unknown data field", {**raw, "data": {**raw["data"], "source": "x"}}
    yield "city_id null", {**raw, "city_id": None}
    yield "no city_id", {k: v for k, v in raw.items() if k != "city_id"}
    yield "city_id given", {**raw, "city_id": "somewhere"}


# ------------------------------------------------------------------ valid documents


def test_the_ingest_document_is_valid_openapi(ingest_doc: dict[str, Any]) -> None:
    validate(copy.deepcopy(ingest_doc))
    assert ingest_doc["openapi"].startswith("3.1")
    assert set(ingest_doc["paths"]) == {"/v1/events", "/v1/events/{event_id}", "/v1/feed",
                                        "/healthz", "/readyz", "/metrics", "/openapi.json"}


def test_the_web_document_is_valid_openapi(web_doc: dict[str, Any]) -> None:
    validate(copy.deepcopy(web_doc))
    assert {"/v1/events", "/api/v1/rankings", "/api/v1/stream"} <= set(web_doc["paths"])


def test_every_pattern_is_an_ecma_regex(ingest_doc: dict[str, Any]) -> None:
    text = json.dumps(ingest_doc)
    patterns = re.findall(r'"pattern": ("(?:[^"\\]|\\.)*")', text)
    assert patterns
    for pattern in map(json.loads, patterns):
        assert "\\Z" not in pattern and pattern.endswith("$")
        re.compile(pattern)
    assert ecma_pattern(r"^[a-z]+\Z") == "^[a-z]+$"


# ------------------------------------------------------------------ the event schema


def test_the_event_schema_has_exactly_the_codecs_fields(
    ingest_doc: dict[str, Any], codec: EventCodec, build: EventBuilder,
) -> None:
    schemas = ingest_doc["components"]["schemas"]
    envelope = schemas["EventEnvelope"]
    assert envelope["additionalProperties"] is False
    # the codec's dump of a complete event carries every field it reads
    full = {kind: codec.dump(event) for kind, event in (
        ("city.upserted", build.city()), ("indicator.observed", build.observed("gov.ai_strategy_score", 1)),
        ("project.upserted", build.project("p-1", deployed_at="2024-06-01")),
        ("project.removed", build.removed("p-1")), ("index.ticked", build.tick("2025-07-01")))}
    assert set(envelope["properties"]) == set(full["city.upserted"])
    assert set(envelope["required"]) == set(full["index.ticked"])  # city_id is optional
    for kind in EVENT_TYPES:
        data = schemas[DATA_SCHEMAS[kind]]
        assert set(data["properties"]) == set(full[kind]["data"]), kind
        assert data["additionalProperties"] is False
        variant = schemas[f"{DATA_SCHEMAS[kind]}Event"]
        assert variant["properties"]["type"] == {"const": kind}
    event = schemas["Event"]
    assert event["discriminator"]["propertyName"] == "type"
    assert set(event["discriminator"]["mapping"]) == set(EVENT_TYPES)
    indicator = schemas["IndicatorObserved"]["properties"]["indicator"]
    assert indicator["enum"] == list(codec.methodology.observed_indicator_codes())
    assert "SG" in schemas["CityUpserted"]["properties"]["country"]["enum"]


def test_the_document_and_the_codec_agree_on_every_event_and_variation(
    event_schema: Draft202012Validator, codec: EventCodec, build: EventBuilder,
) -> None:
    checked = 0
    for raw in samples(build):
        assert codec_accepts(codec, raw) and event_schema.is_valid(raw), raw
        for what, changed in mutations(raw):
            assert event_schema.is_valid(changed) == codec_accepts(codec, changed), (
                what, changed)
            checked += 1
    assert checked > 500


def test_an_array_of_events_is_a_valid_request_body(
    ingest_doc: dict[str, Any], build: EventBuilder,
) -> None:
    body = ingest_doc["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(ingest_doc, default_specification=DRAFT202012))
    refs = json.loads(json.dumps(schema).replace('"#/', f'"{DOC_URI}#/'))
    check = Draft202012Validator(refs, registry=registry)
    events = samples(build)[:5]
    assert check.is_valid(events) and check.is_valid(events[0])
    assert not check.is_valid([*events, {"event_id": "x"}])


# ------------------------------------------------------------------ served


def test_the_ingest_service_serves_its_document(ingest_doc: dict[str, Any]) -> None:
    # The app connects to Redis only when a request needs it; this one does not.
    app = create_ingest(Settings.from_env(redis_url="redis://127.0.0.1:9/0"))
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == ingest_doc


def test_the_web_document_takes_the_ingest_part_from_the_same_source(
    web_doc: dict[str, Any], ingest_doc: dict[str, Any],
) -> None:
    web_schemas = web_doc["components"]["schemas"]
    for name, schema in ingest_doc["components"]["schemas"].items():
        assert web_schemas[name] == schema, name
    for path, item in ingest_doc["paths"].items():
        for method, operation in item.items():
            served = web_doc["paths"][path][method]
            if path.startswith("/v1/"):  # the ingest API, served by the ingest service
                assert served["servers"][0]["url"].endswith(":8001")
            else:  # the ops routes every service has: the web document's are the web's
                assert "servers" not in served and operation["tags"] == ["ops"]
            assert {k: v for k, v in served.items() if k != "servers"} == operation
    assert web_doc["servers"][0]["url"].endswith(":8000")


@pytest.mark.parametrize(("schema", "old", "new"), [
    ("Ranking", "as_of", "index_date"),
    ("ChangeSince", "move", "places_gained"),
    ("ChangeSince", "rank_then", "rank_before"),
    ("Explain", "rank_delta", "places_gained"),
    ("Explain", "rank_delta_own", "places_gained_own"),
    ("Explain", "rank_delta_others", "places_gained_others"),
    ("StreamSnapshot", "as_of", "index_date"),
    ("StreamChange", "old_rank", "rank_before"),
    ("StreamChange", "rank_delta", "places_gained"),
    ("WebhookChange", "top_drivers", "pillar_changes"),
])
def test_each_renamed_field_is_documented_beside_its_deprecated_alias(
        web_doc: dict[str, Any], schema: str, old: str, new: str) -> None:
    props = web_doc["components"]["schemas"][schema]["properties"]
    assert new in props and not props[new].get("deprecated")
    assert props[old]["deprecated"] is True
    assert new in props[old]["description"] and "one release" in props[old]["description"]

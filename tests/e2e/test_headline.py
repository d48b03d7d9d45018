"""The reference dataset posted through the ingest API reproduces the published headline."""

from __future__ import annotations

import requests

from tests.support.procs import Stack

TOP_TEN = ["singapore", "seoul", "beijing", "dubai", "san-francisco", "hong-kong", "tokyo",
           "abu-dhabi", "new-york", "shanghai"]
HEADLINE = {"singapore": 84, "seoul": 82, "beijing": 78, "dubai": 76, "san-francisco": 71}


def test_reference_dataset_through_api_gives_published_headline(loaded_stack: tuple[Stack, str]) -> None:
    stack, _ = loaded_stack
    doc = requests.get(f"{stack.web_url}/api/v1/rankings", timeout=10).json()
    ids = [i["city_id"] for i in doc["items"]]
    assert ids[:10] == TOP_TEN
    scores = {i["city_id"]: round(i["score"]) for i in doc["items"]}
    assert {c: scores[c] for c in HEADLINE} == HEADLINE
    ranks = {i["city_id"]: i["rank"] for i in doc["items"]}
    assert ranks["bengaluru"] == 26
    assert len(doc["items"]) == 100 and doc["unranked"] == []
    assert doc["as_of"] == "2025-06-30"
    assert doc["methodology_version"] == "2025.2"

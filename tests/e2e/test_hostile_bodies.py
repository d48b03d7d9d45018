"""Hostile request bodies against a real gunicorn ingest: 400/413/422 naming the problem,
never a 500, and a bad item never sinks the valid items of its batch.

One stack (Redis, ingest, web; no scoring needed to accept) serves the module, with the
body limit lowered to 64 KiB so that an over-limit chunked body stays small.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.events import city, indicator
from tests.support.procs import Stack

pytestmark = pytest.mark.e2e

LIMIT = 64 * 1024
NDJSON = "application/x-ndjson"
SURROGATE = "contains a lone surrogate (\\udc00), not valid Unicode"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("hostile"),
              extra_env={"AICITY_INGEST_MAX_BODY_BYTES": str(LIMIT)})
    s.start(workers=0, beat=False)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.admin_token()


def compact(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def swap(doc: dict[str, Any], old: str, new: str) -> bytes:
    """doc's JSON with one literal piece of its text swapped for hostile text."""
    text = compact(doc)
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new).encode()


def deep_item() -> bytes:  # data.name nested 5,000 deep
    return swap(city("deep-town", name="NAME"), '"NAME"', "[" * 5000 + "1" + "]" * 5000)


def surrogate_item() -> bytes:  # a lone surrogate in data.name
    return swap(city("lone-town", name="NAME"), '"NAME"', '"Se\\udc00oul"')


def huge_int_item() -> bytes:  # a 5,000-digit integer as data.value
    return swap(indicator("seoul", "gov.open_data_score", 1.5), "1.5", "9" * 5000)


# name -> (item, the field its error is under, a piece of the message)
HOSTILE = {
    "nested 5,000 deep": (deep_item, "_json", "nested deeper than 64 levels"),
    "lone surrogate in data.name": (surrogate_item, "data.name", SURROGATE),
    "5,000-digit integer": (huge_int_item, "data.value", "must be a finite number"),
}


def errors_at(errors: dict[str, Any], path: str) -> list[str]:
    """The messages under a flat path ("data.name") or the same path nested (marshmallow's)."""
    if path in errors:
        return list(errors[path])
    node: Any = errors
    for key in path.split("."):
        node = node[key]
    return list(node)


def post(stack: Stack, token: str, body: bytes | Iterator[bytes], ctype: str) -> requests.Response:
    return requests.post(f"{stack.ingest_url}/v1/events", data=body, timeout=60, headers={
        "Authorization": f"Bearer {token}", "Content-Type": ctype})


def as_body(items: list[bytes], ctype: str) -> bytes:
    if ctype == NDJSON:
        return b"\n".join(items) + b"\n"
    return b"[" + b",".join(items) + b"]"


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("shape", ["event", "array", "ndjson"])
def test_a_hostile_item_alone_is_refused_naming_it(stack: Stack, token: str, case: str,
                                                  shape: str) -> None:
    build, path, message = HOSTILE[case]
    item = build()
    if shape == "event":
        resp = post(stack, token, item, "application/json")
    else:
        ctype = NDJSON if shape == "ndjson" else "application/json"
        resp = post(stack, token, as_body([item], ctype), ctype)
    assert resp.status_code in (400, 422), resp.text[:500]
    doc = resp.json()
    assert doc["accepted"] == 0 and doc["rejected"] == 1
    [result] = doc["results"]
    assert result["status"] == "rejected"
    assert any(message in m for m in errors_at(result["errors"], path)), result


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("ctype", [NDJSON, "application/json"])
def test_a_hostile_item_in_a_batch_sinks_only_itself(stack: Stack, token: str, case: str,
                                                     ctype: str) -> None:
    build, path, message = HOSTILE[case]
    valid = [city("seoul"), indicator("seoul", "gov.open_data_score", 50.0),
             indicator("seoul", "gov.open_data_score", 60.0, at="2025-05-02T00:00:00+00:00")]
    items = [compact(valid[0]).encode(), compact(valid[1]).encode(), build(),
             compact(valid[2]).encode()]
    resp = post(stack, token, as_body(items, ctype), ctype)
    assert resp.status_code == 202, resp.text[:500]
    doc = resp.json()
    assert doc["rejected"] == 1 and doc["accepted"] + doc["duplicates"] == 3
    results = doc["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    for n, event in zip((0, 1, 3), valid):
        assert results[n]["status"] in ("accepted", "duplicate")
        assert results[n]["event_id"] == event["event_id"]
    assert results[2]["status"] == "rejected"
    assert any(message in m for m in errors_at(results[2]["errors"], path)), results[2]


def test_a_line_that_is_not_json_is_rejected_alone_naming_its_line(stack: Stack,
                                                                   token: str) -> None:
    good = compact(city("seoul")).encode()
    resp = post(stack, token, as_body([good, b'{"a": tru}', b"[" * 3000], NDJSON), NDJSON)
    assert resp.status_code == 202, resp.text[:500]
    results = resp.json()["results"]
    assert results[1]["errors"] == {"_json": [
        "line 2: not valid JSON (Expecting value at column 7)"]}
    assert results[2]["errors"] == {"_json": ["nested deeper than 64 levels"]}


def test_a_structurally_broken_array_is_400_naming_line_and_column(stack: Stack,
                                                                   token: str) -> None:
    body = as_body([compact(city("seoul")).encode()], "application/json")[:-1] + b",\n" + \
        deep_item()[:-1]  # the last item and the array never closed
    resp = post(stack, token, body, "application/json")
    assert resp.status_code == 400, resp.text[:500]
    assert "never closed at line 2 column 1" in resp.json()["error"]


# ------------------------------------------------------------------ the size limit


def chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    """A generator body: requests sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def padded_array(size: int) -> bytes:
    """A valid one-event array padded with spaces to exactly size bytes."""
    item = compact(city("seoul")).encode()
    return b"[" + item + b" " * (size - len(item) - 2) + b"]"


def test_a_chunked_body_over_the_limit_is_413_like_one_with_content_length(
        stack: Stack, token: str) -> None:
    body = padded_array(LIMIT + 16 * 1024)
    with_length = post(stack, token, body, "application/json")
    chunked = post(stack, token, chunks(body), "application/json")
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in chunked.request.headers
    assert with_length.status_code == chunked.status_code == 413, chunked.text[:300]
    assert chunked.json() == with_length.json()
    assert chunked.json() == {"status": 413, "error": (
        f"request body over the limit of {LIMIT} bytes; split it into smaller batches")}


def test_a_chunked_body_at_the_limit_is_read_whole(stack: Stack, token: str) -> None:
    resp = post(stack, token, chunks(padded_array(LIMIT)), "application/json")
    assert resp.status_code == 202, resp.text[:300]
    assert resp.json()["accepted"] + resp.json()["duplicates"] == 1


def test_a_broken_chunked_encoding_is_400_naming_it(stack: Stack, token: str) -> None:
    port = int(stack.ingest_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\n[{}, \r\nzz\r\n{}]\r\n0\r\n\r\n").encode())
        sock.shutdown(socket.SHUT_WR)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), response[:300]
    assert b"body: could not be read (Invalid chunk size" in body, body[:300]

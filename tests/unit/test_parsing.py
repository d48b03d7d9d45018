"""Request bodies: hostile items become BadItems at their index, never a 500; bodies that are
not JSON at all are a BodyError (400); the all-valid batch is one orjson parse."""

from __future__ import annotations

import io
import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from services.ingest import parsing
from services.ingest.parsing import MAX_DEPTH, BadItem, BodyError, parse_body, read_body
from shared.contract.events import EventCodec
from shared.contract.methodology import load_methodology

NDJSON = "application/x-ndjson"
JSON = "application/json"
SURROGATE = "contains a lone surrogate (\\udc00), not valid Unicode"
DEEP = f"nested deeper than {MAX_DEPTH} levels"


def event(value: float = 1.0, name: str = "Seoul") -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "city.upserted", "city_id": "seoul",
            "occurred_at": "2025-06-30T12:00:00+09:00",
            "data": {"name": name, "country": "KR", "region": "East Asia",
                     "population": 9_400_000, "lat": 37.5, "lon": value}}


def raw(doc: dict[str, Any], old: str, new: str) -> bytes:
    """The compact JSON of doc with one literal piece of its text swapped for hostile text."""
    text = json.dumps(doc, separators=(",", ":"))
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new).encode()


NAMELESS = event(name="NAME")


def nested(depth: int) -> bytes:
    """An event whose data.name is a list nested so that the event is depth levels deep."""
    inner = depth - 2  # the event object and its data object are two levels
    return raw(NAMELESS, '"NAME"', "[" * inner + "1" + "]" * inner)


def nested_value(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 2):
        value = [value]
    return value


LONE_SURROGATE = raw(event(name="NAME"), '"NAME"', '"Se\\udc00oul"')
HUGE_INT = raw(event(value=1.5), "1.5", "9" * 5000)
DEEP_5000 = nested(5000)
# (hostile item, what parse_body puts at its index: a checker)
HOSTILE: dict[str, tuple[bytes, Callable[[Any], bool]]] = {
    "lone surrogate in data.name": (
        LONE_SURROGATE, lambda got: got == BadItem({"data.name": [SURROGATE]})),
    "5,000-digit integer": (HUGE_INT, lambda got: got["data"]["lon"] == math.inf),
    "nested 5,000 deep": (DEEP_5000, lambda got: got == BadItem({"_json": [DEEP]})),
    "nested 500 deep (orjson reads it)": (
        nested(500), lambda got: got == BadItem({"_json": [DEEP]})),
    "NaN": (raw(event(value=1.5), "1.5", "NaN"), lambda got: math.isnan(got["data"]["lon"])),
    "-Infinity": (raw(event(value=1.5), "1.5", "-Infinity"),
                  lambda got: got["data"]["lon"] == -math.inf),
}


def as_ndjson(items: list[bytes], blank_lines: bool = False) -> bytes:
    return (b"\n\n" if blank_lines else b"\n").join(items) + b"\n"


def as_array(items: list[bytes]) -> bytes:
    return b"[" + b",\n ".join(items) + b"]"


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# ------------------------------------------------------------------ the fast path


@pytest.fixture
def orjson_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the real orjson.loads calls parse_body makes."""
    calls: list[int] = []
    real = orjson.loads

    def counting(data: Any) -> Any:
        calls.append(1)
        return real(data)

    monkeypatch.setattr(parsing.orjson, "loads", counting)
    return calls


@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_an_all_valid_batch_is_one_orjson_parse(mimetype: str, build: Callable[..., bytes],
                                                orjson_calls: list[int]) -> None:
    events = [event(value=float(n)) for n in range(1000)]
    assert parse_body(build([dumps(e) for e in events]), mimetype, 10_000) == events
    assert len(orjson_calls) == 1


def test_one_event_object_is_one_orjson_parse(orjson_calls: list[int]) -> None:
    doc = event()
    assert parse_body(dumps(doc), JSON, 10) == [doc]
    assert len(orjson_calls) == 1


@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_nesting_up_to_the_limit_passes_on_either_path(mimetype: str,
                                                       build: Callable[..., bytes]) -> None:
    fine = json.loads(nested(MAX_DEPTH))
    assert fine["data"]["name"] == nested_value(MAX_DEPTH)
    assert parse_body(build([nested(MAX_DEPTH)]), mimetype, 10) == [fine]  # fast
    got = parse_body(build([nested(MAX_DEPTH), LONE_SURROGATE]), mimetype, 10)  # slow
    assert got[0] == fine and isinstance(got[1], BadItem)
    assert parse_body(build([nested(MAX_DEPTH + 1)]), mimetype, 10) == [BadItem({"_json": [DEEP]})]


# ------------------------------------------------------------------ hostile items


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_a_hostile_item_alone(case: str, mimetype: str, build: Callable[..., bytes]) -> None:
    item, check = HOSTILE[case]
    got = parse_body(build([item]), mimetype, 10)
    assert len(got) == 1 and check(got[0]), got


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_single_event_body(case: str) -> None:
    item, check = HOSTILE[case]
    got = parse_body(item, JSON, 10)
    assert len(got) == 1 and check(got[0]), got


@pytest.mark.parametrize("blank_lines", [False, True])
@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_a_mixed_batch_keeps_the_valid_items_in_order(mimetype: str, build: Callable[..., bytes],
                                                      blank_lines: bool) -> None:
    valid = [event(value=float(n)) for n in range(len(HOSTILE) + 1)]
    body: list[bytes] = []
    for n, (item, _) in enumerate(HOSTILE.values()):
        body += [dumps(valid[n]), item]
    body.append(dumps(valid[-1]))
    body.append(b'{"not": json}')
    if mimetype == NDJSON:
        got = parse_body(as_ndjson(body, blank_lines), mimetype, 100)
    else:
        got = parse_body(build(body), mimetype, 100)
    assert len(got) == len(body)  # index n of the result is item n of the body
    assert got[0:-1:2] == valid
    for n, (_, check) in enumerate(HOSTILE.values()):
        assert check(got[2 * n + 1]), (n, got[2 * n + 1])
    assert isinstance(got[-1], BadItem) and "not valid JSON" in got[-1].errors["_json"][0]


def test_surrogates_are_reported_by_path_in_lists_and_keys_and_pairs_are_fine() -> None:
    body = b'{"a":"\\ud83d\\ude00","b":{"c":[1,"x\\ud800"]},"k\\udc01":2,"d":"\\udc00"}'
    [got] = parse_body(body, JSON, 10)
    assert got == BadItem({
        "b.c.1": ["contains a lone surrogate (\\ud800), not valid Unicode"],
        "k\\udc01": ["field name contains a lone surrogate (\\udc01), not valid Unicode"],
        "d": [SURROGATE],
    })
    orjson.dumps(got.errors)  # the messages themselves are valid Unicode: they go in responses


def test_integers_read_as_orjson_reads_them() -> None:
    doc = b'{"small":-9223372036854775808,"u64":18446744073709551615,"big":' + b"1" * 30 + \
        b',"huge":-' + b"7" * 5000 + b',"s":"\\udc00"}'
    expected = orjson.loads(doc.replace(b',"huge":-' + b"7" * 5000, b"").replace(
        b',"s":"\\udc00"', b""))
    got = parse_body(b"[" + doc.replace(b',"s":"\\udc00"', b',"nan":NaN') + b"]", JSON, 10)[0]
    assert {k: got[k] for k in expected} == expected
    assert got["huge"] == -math.inf and math.isnan(got["nan"])
    orjson.dumps(got)  # nothing a response could echo is out of orjson's range


def test_the_validator_names_the_field_of_a_huge_integer_and_nan() -> None:
    codec = EventCodec(load_methodology("2025.1"))
    items = parse_body(as_ndjson([HUGE_INT, raw(event(value=1.5), "1.5", "NaN"),
                                  raw(event(), "9400000", "9" * 5000)]), NDJSON, 10)
    errors = [r.normalized_messages() for r in codec.load_many(items)]
    assert "finite" in errors[0]["data"]["lon"][0]
    assert "finite" in errors[1]["data"]["lon"][0]
    assert errors[2]["data"]["population"] == ["must be an integer"]


@pytest.mark.parametrize("line", [
    b"[" * 5000,  # unterminated as well as deep: the standard parser would recurse
    b'{"a":' * 3000 + b'"\\udc00"',
    b"[" * 3000 + b"NaN" + b"]" * 3000,
    b'{"a":' + b"[" * 3000 + b"1e999" + b"]" * 3000 + b"}",
])
def test_deep_text_never_reaches_the_recursive_parser(line: bytes) -> None:
    got = parse_body(as_ndjson([dumps(event()), line]), NDJSON, 10)
    assert got[1] == BadItem({"_json": [DEEP]})
    if line.startswith(b"{"):  # the same as a body of one event
        assert parse_body(line, JSON, 10) == [BadItem({"_json": [DEEP]})]
    if line.endswith(b"]") or line.endswith(b"}"):  # the same as an array item
        assert parse_body(as_array([line, dumps(event())]), JSON, 10)[0] == BadItem({"_json": [DEEP]})


def test_a_deep_array_item_is_found_whole_and_the_next_item_kept() -> None:
    deep = b"[" * 400_000 + b"]" * 400_000
    got = parse_body(as_array([deep, dumps(event()), b'[[{"s":"]]]"}]]', deep, dumps(event())]),
                     JSON, 10)
    assert got[0] == got[3] == BadItem({"_json": [DEEP]})
    assert isinstance(got[1], dict) and got[2] == [[{"s": "]]]"}]] and isinstance(got[4], dict)


# ------------------------------------------------------------------ where the messages point


def test_an_ndjson_line_that_is_not_json_names_its_line_and_column() -> None:
    body = dumps(event()) + b"\n\n" + b'{"a": tru}\n' + dumps(event()) + b"\n"
    got = parse_body(body, NDJSON, 10)
    assert got[1] == BadItem({"_json": ["line 3: not valid JSON (Expecting value at column 7)"]})
    assert isinstance(got[0], dict) and isinstance(got[2], dict)


def test_an_array_item_that_is_not_json_names_line_and_column_in_the_body() -> None:
    body = b'[\n  {"a": 1},\n  {"a": tru},\n  "\\x"\n]'
    got = parse_body(body, JSON, 10)
    assert got[0] == {"a": 1}
    assert got[1] == BadItem({"_json": ["not valid JSON (Expecting value at line 3 column 9)"]})
    assert got[2] == BadItem({"_json": ["not valid JSON (Invalid \\escape at line 4 column 4)"]})


@pytest.mark.parametrize(("body", "where"), [
    (b'[{"a":1},\n{"b":2}', "never closed at line 1 column 1"),
    (b'[{"a":1},\n{"b":[2}', "never closed at line 2 column 1"),
    (b'[{"a":1},\n{"b":"2}]', "string opened here is never closed at line 2 column 6"),
    (b'[{"a":1} {"b":2}]', "expected ',' or ']' after an item at line 1 column 10"),
    (b'[{"a":1},,{"b":2}]', "expected a value at line 1 column 10"),
    (b'[{"a":1},]', "expected a value at line 1 column 10"),
    (b'[{"a":1}]\n x', "unexpected data after the array at line 2 column 2"),
    (b'[1, 2 3]', "expected ',' or ']' after an item at line 1 column 7"),
    (b'["a\\udc00", "b', "string opened here is never closed at line 1 column 13"),
])
def test_a_structurally_broken_array_is_a_body_error_naming_line_and_column(
        body: bytes, where: str) -> None:
    with pytest.raises(BodyError, match="not valid JSON") as caught:
        parse_body(body, JSON, 10)
    assert where in str(caught.value)


def test_mismatched_brackets_inside_an_item_are_that_item_s_error() -> None:
    # Brackets are counted, not matched: "[1}]" closes the item, which its parser refuses.
    got = parse_body(b'[{"a":[1}], {"b":2}]', JSON, 10)
    assert isinstance(got[0], BadItem) and "not valid JSON" in got[0].errors["_json"][0]
    assert got[1] == {"b": 2}
    with pytest.raises(BodyError, match="never closed"):  # one closer short: the array is open
        parse_body(b'[{"a":[1}, {"b":2}]', JSON, 10)


# ------------------------------------------------------------------ the body contract


@pytest.mark.parametrize(("body", "mimetype", "message"), [
    (b'{"event_id": ', JSON, "body: not valid JSON (Expecting value at line 1 column 14)"),
    (b"[]", JSON, "body: no events"),
    (b" \n ", JSON, "body: empty"),
    (b" \n ", NDJSON, "body: no events"),
    (b'"just a string"', JSON, "event object or an array"),
    (b'"\\udc00"', JSON, "event object or an array"),
    (b"12", JSON, "event object or an array"),
    (b"\xff\xfe", JSON, "body: not UTF-8 (invalid start byte at byte 0)"),
    (b'{"a":1}\n{"b":"\xff"}\n', NDJSON, "body: not UTF-8"),
    (b'[{"a":1},{"b":"\xff"}]', JSON, "body: not UTF-8"),
])
def test_a_body_that_is_not_json_at_all_is_a_body_error(body: bytes, mimetype: str,
                                                       message: str) -> None:
    with pytest.raises(BodyError) as caught:
        parse_body(body, mimetype, 10)
    assert message in str(caught.value)


@pytest.mark.parametrize("bad", [False, True])
@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_too_many_items_overflow_on_either_path(mimetype: str, build: Callable[..., bytes],
                                                bad: bool) -> None:
    items = [dumps(event()) for _ in range(6)] + ([LONE_SURROGATE] if bad else [])
    with pytest.raises(OverflowError, match="the limit is 5"):
        parse_body(build(items), mimetype, 5)
    assert len(parse_body(build(items[:5]), mimetype, 5)) == 5


def test_ndjson_lines_end_at_newline_only() -> None:
    # U+2028 and U+0085 are valid inside JSON strings; str.splitlines would cut there.
    doc = event(name="Se\u2028oul\u0085")
    body = json.dumps(doc, ensure_ascii=False).encode() + b"\r\n" + dumps(event()) + b"\r\n"
    got = parse_body(body, NDJSON, 10)
    assert got[0] == doc and len(got) == 2


# ------------------------------------------------------------------ reading the body


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 100
    return app


def chunked(app: Flask, body: bytes) -> Any:
    """A request as gunicorn hands over a chunked one: no Content-Length, input terminated."""
    environ = EnvironBuilder("/", method="POST", input_stream=io.BytesIO(body)).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    return app.request_context(environ)


def test_werkzeug_cuts_a_chunked_body_at_the_limit_silently(app: Flask) -> None:
    # The cause of the 400: get_data() returns the first 100 bytes of a longer body.
    with chunked(app, b"x" * 150):
        assert request.content_length is None
        assert request.get_data(cache=False) == b"x" * 100


@pytest.mark.parametrize("size", [0, 1, 99, 100])
def test_a_chunked_body_up_to_the_limit_is_read_whole(app: Flask, size: int) -> None:
    with chunked(app, bytes(range(256))[:size] if size else b""):
        assert read_body(request, chunk_size=7) == bytes(range(256))[:size]


@pytest.mark.parametrize("size", [101, 10_000])
def test_a_chunked_body_past_the_limit_is_413(app: Flask, size: int) -> None:
    with chunked(app, b"x" * size), pytest.raises(RequestEntityTooLarge):
        read_body(request, chunk_size=7)


def test_a_body_with_content_length_is_read_as_werkzeug_reads_it(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data=b"y" * 100):
        assert read_body(request) == b"y" * 100
    with app.test_request_context("/", method="POST", data=b"y" * 101), \
            pytest.raises(RequestEntityTooLarge):
        read_body(request)


@pytest.mark.parametrize(("mimetype", "build"), [(NDJSON, as_ndjson), (JSON, as_array)])
def test_without_orjson_s_depth_limit_the_fast_path_walks_instead(
        monkeypatch: pytest.MonkeyPatch, mimetype: str, build: Callable[..., bytes]) -> None:
    assert parsing._ORJSON_MAX_DEPTH == parsing._PAD + 1 + MAX_DEPTH  # type: ignore[operator]
    monkeypatch.setattr(parsing, "_PAD", None)  # as if orjson read any depth
    fine = dumps(event())
    got = parse_body(build([fine, nested(MAX_DEPTH + 1), nested(MAX_DEPTH)]), mimetype, 10)
    assert got[0] == json.loads(fine) and got[1] == BadItem({"_json": [DEEP]})
    assert isinstance(got[2], dict)


class _Spent(Exception):
    """What a feed's spent quota raises from pay()."""


@pytest.mark.parametrize(("body", "mimetype", "count"), [
    (dumps(event()), JSON, 1),
    (b"[" + b",".join(dumps(event()) for _ in range(3)) + b"]", JSON, 3),
    (b"[" + dumps(event()) + b", {bad json}, 7]", JSON, 3),  # the slow path: after its scan
    (b"\n".join(dumps(event()) for _ in range(4)), NDJSON, 4),
    (dumps(event()) + b"\n{bad json\n" + dumps(event()), NDJSON, 3),
])
def test_items_are_paid_for_before_any_is_parsed_alone(body: bytes, mimetype: str,
                                                         count: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    paid: list[int] = []
    assert len(parse_body(body, mimetype, 100, paid.append)) == count
    assert max(paid) == count
    calls: list[str] = []
    original = parsing._item
    monkeypatch.setattr(parsing, "_item", lambda *a: calls.append("item") or original(*a))

    def spent(items: int) -> None:
        raise _Spent(items)

    with pytest.raises(_Spent):  # a feed that cannot pay: no item is looked at one by one
        parse_body(body, mimetype, 100, spent)
    assert calls == []

"""Turn a request body (one event, a JSON array, or NDJSON) into raw event objects.

Bodies are untrusted. The all-valid batch is one orjson parse. When that fails, the body
is cut into its items (NDJSON lines, or the elements of the top-level array, found by a
string-aware scan) and each is parsed alone, so that one bad item becomes a BadItem at its
position instead of failing the batch. An item orjson refuses is read again by the
standard parser only under guards: its nesting is measured first (no RecursionError),
integers read like orjson reads them (no 4,300-digit ValueError), NaN/Infinity stay
floats (the validator names the field), and lone surrogates are reported by field path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from itertools import chain, compress, repeat
from operator import getitem, not_
from typing import Any

import orjson
from flask import Request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from shared.commands.accept import Unparsed

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")

MAX_DEPTH = 64  # no event nests more than 3 levels; orjson.dumps stops at 254
_JSON_WS = " \t\r\n"

# From a position inside a value: skip every character that is not a bracket, stepping over
# whole strings (escapes included); stops at a bracket, at an unterminated string's quote,
# or at the end of the text.
_SKIP = re.compile(r'(?:[^"\[\]{}]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
# A scalar element of the top-level array: a string, or a run of number/literal characters.
_SCALAR = re.compile(r'"(?:[^"\\]++|\\.)*+"|[^ \t\r\n,\[\]{}"]++', re.DOTALL)
_WS = re.compile(r"[ \t\r\n]*+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKETS = re.compile(r"[\[\]{}]")
_BLOCK = 4096
_CONTAINERS = frozenset((dict, list))


def _orjson_max_depth() -> int | None:
    """The deepest nesting orjson.loads accepts (1024 in orjson 3), or None if unbounded."""
    low, high = 1, 4096
    if _loads_ok(high):
        return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if _loads_ok(mid) else (low, mid)
    return low


def _loads_ok(depth: int) -> bool:
    try:
        orjson.loads(b"[" * depth + b"]" * depth)
    except orjson.JSONDecodeError:
        return False
    return True


# The fast path checks nesting for free: wrapped in _PAD arrays, a batch parses only if no
# item nests deeper than MAX_DEPTH (orjson's own limit is reached first). None: walk instead.
_ORJSON_MAX_DEPTH = _orjson_max_depth()
_PAD = None if _ORJSON_MAX_DEPTH is None else _ORJSON_MAX_DEPTH - 1 - MAX_DEPTH
_OPEN, _CLOSE = b"[" * ((_PAD or 0) + 1), b"]" * ((_PAD or 0) + 1)


def _end(pattern: re.Pattern[str], text: str, pos: int = 0) -> int:
    """Where pattern's match at pos ends (_SKIP and _WS also match the empty string)."""
    found = pattern.match(text, pos)
    assert found is not None
    return found.end()


class BodyError(ValueError):
    """An unparseable body; the message says where."""


@dataclass(frozen=True)
class BadItem(Unparsed):
    """One item of a batch that cannot be parsed, or holds what no event can hold.

    errors maps where (a field path like "data.name", or "_json" for the item as a whole)
    to messages, like a validation error's. An Unparsed, which accept() rejects in place.
    """


def _deep() -> BadItem:
    return BadItem({"_json": [f"nested deeper than {MAX_DEPTH} levels"]})


# ------------------------------------------------------------------ reading the body


def read_body(request: Request, chunk_size: int = 64 * 1024) -> bytes:
    """Return the request body; raise RequestEntityTooLarge (413) past max_content_length.

    Werkzeug reads a body without Content-Length (Transfer-Encoding: chunked, which
    gunicorn terminates and flags with wsgi.input_terminated) through a LimitedStream
    whose readall() stops silently at max_content_length: the body came back cut at the
    limit and failed to parse (400). Such a body is read here in bounded chunks instead;
    one byte past the limit is a 413, and a broken chunked encoding (gunicorn raises its
    own parse errors, which werkzeug does not catch: a 500) is a 400 naming it. Bodies with
    a Content-Length go through werkzeug, which refuses one over the limit before reading.
    """
    limit = request.max_content_length
    if (request.content_length is not None or limit is None
            or "wsgi.input_terminated" not in request.environ):
        return request.get_data(cache=False)
    stream = request.input_stream
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            data = stream.read(min(chunk_size, limit + 1 - size))
        except Exception as exc:  # noqa: BLE001 - the server's error for a bad chunk or a lost client
            raise BadRequest(f"body: could not be read ({exc})") from exc
        if not data:
            return b"".join(parts)
        size += len(data)
        if size > limit:
            raise RequestEntityTooLarge()
        parts.append(data)


# ------------------------------------------------------------------ the body


def _free(items: int) -> None:
    pass


def parse_body(body: bytes, mimetype: str, max_items: int,
               pay: Callable[[int], None] = _free) -> list[Any]:
    """Return the raw events of a body, a BadItem in place of each item that is unusable.

    Raise BodyError (400) for a body that is not JSON / NDJSON at all and OverflowError
    (413) for more than max_items items. pay(n) is called with the number of items as soon
    as it is known, before any item is parsed one by one or validated: an NDJSON body's
    lines before anything is parsed, a JSON array's length after its one fast parse (or,
    when that fails, after the scan that cuts it into items). It may be called again with
    a count already announced; whatever it raises (the feed's quota is spent) stops here.
    """
    items = (_ndjson(body, max_items, pay) if mimetype in NDJSON_TYPES
             else _json_body(body, max_items, pay))
    if not items:
        raise BodyError("body: no events")
    return items


def _fast_loads(inner: bytes) -> list[Any] | None:
    """Parse b"[" + inner + b"]" in one orjson call; None if that fails or nests too deep."""
    try:
        if _PAD is None:
            value = orjson.loads(b"[" + inner + b"]")
            return None if _any_too_deep(value) else value
        value = orjson.loads(b"".join((_OPEN, inner, _CLOSE)))
    except orjson.JSONDecodeError:
        return None
    return reduce(getitem, repeat(0, _PAD), value)  # type: ignore[no-any-return]


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body: not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def _overflow(count: int | str, max_items: int) -> OverflowError:
    return OverflowError(f"{count} events in one request; the limit is {max_items}")


def _ndjson(body: bytes, max_items: int, pay: Callable[[int], None]) -> list[Any]:
    stripped = body.strip(b" \t\r\n")
    if not stripped:
        return []
    lines = stripped.count(b"\n") + 1
    if lines <= max_items:
        pay(lines)  # a blank line is paid for like an item
        # One parse of the whole batch is twice as fast as one per line. A blank line, a
        # bad line, an item too deep or not UTF-8: look line by line.
        items = _fast_loads(stripped.replace(b"\n", b","))
        if items is not None and len(items) == lines:
            return items
    text = _decode(body)
    numbered = [(n, line) for n, line in enumerate(text.split("\n"), start=1)
                if line.strip(_JSON_WS)]
    if len(numbered) > max_items:
        raise _overflow(len(numbered), max_items)
    pay(len(numbered))
    if len(numbered) != lines:  # blank lines: the whole batch again without them
        items = _fast_loads(",".join(line for _, line in numbered).encode())
        if items is not None and len(items) == len(numbered):
            return items
    out: list[Any] = []
    for n, line in numbered:
        try:
            out.append(_item(line, None))
        except json.JSONDecodeError as exc:
            out.append(BadItem({"_json": [
                f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})"]}))
    return out


def _json_body(body: bytes, max_items: int, pay: Callable[[int], None]) -> list[Any]:
    parsed = _fast_loads(body)  # one value, wrapped: one item of an array, as deep
    if parsed is None or len(parsed) != 1:
        return _json_slow(_decode(body), max_items, pay)
    value = parsed[0]
    if isinstance(value, dict):
        pay(1)
        return [value]
    if not isinstance(value, list):
        raise BodyError("body: must be an event object or an array of events")
    if len(value) > max_items:
        raise _overflow(len(value), max_items)
    pay(len(value))
    return value


def _json_slow(text: str, max_items: int, pay: Callable[[int], None]) -> list[Any]:
    start = _end(_WS, text)
    if start == len(text):
        raise BodyError("body: empty; send an event object, an array or NDJSON")
    if text[start] == "[":
        out: list[Any] = []
        spans = _array_items(text, start, max_items)
        pay(len(spans))
        for first, end, deep in spans:
            if deep:
                out.append(_deep())
                continue
            try:
                out.append(_item(text[first:end], False))
            except json.JSONDecodeError as exc:
                out.append(BadItem({"_json": [
                    f"not valid JSON ({exc.msg} at {_where(text, first + exc.pos)})"]}))
        return out
    pay(1)
    try:
        value = _item(text, None)
    except json.JSONDecodeError as exc:
        raise BodyError(f"body: not valid JSON ({exc.msg} at line {exc.lineno} column "
                        f"{exc.colno})") from exc
    if isinstance(value, dict) or (isinstance(value, BadItem) and text[start] == "{"):
        return [value]
    raise BodyError("body: must be an event object or an array of events")


# ------------------------------------------------------------------ one item


def _item(text: str, deep: bool | None) -> Any:
    """Parse one item: its value, or a BadItem; raise json.JSONDecodeError if not JSON.

    deep says whether the text nests deeper than MAX_DEPTH, if the caller measured it.
    """
    if deep:
        return _deep()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # a lone surrogate, a huge number, NaN, too deep, or not JSON
    else:
        return _deep() if deep is None and _too_deep(value, MAX_DEPTH) else value
    if deep is None and _depth_exceeds(text, MAX_DEPTH):
        return _deep()  # the standard parser recurses: never hand it deep text
    value = json.loads(text, parse_constant=_constant, parse_int=_int)
    errors: dict[str, list[str]] = {}
    _find_surrogates(value, "", errors)
    return BadItem(errors) if errors else value


def _constant(name: str) -> float:
    # Keep NaN/Infinity as numbers so validation names the field and the rule.
    return float(name)


def _int(digits: str) -> int | float:
    # As orjson reads them: an integer in 64-bit range, else a float (inf past 1e308),
    # never int() of thousands of digits (Python refuses past 4,300).
    if len(digits) <= 20:
        value = int(digits)
        if -(2**63) <= value < 2**64:
            return value
    return float(digits)


def _find_surrogates(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    if type(value) is str:
        found = None if value.isascii() else _SURROGATE.search(value)
        if found:
            errors.setdefault(path or "_json", []).append(
                f"contains a lone surrogate (\\u{ord(found.group()):04x}), not valid Unicode")
    elif type(value) is dict:
        for key, child in value.items():
            found = None if key.isascii() else _SURROGATE.search(key)
            name = key.encode("utf-8", "backslashreplace").decode() if found else key
            where = f"{path}.{name}" if path else name
            if found:
                errors.setdefault(where, []).append(
                    f"field name contains a lone surrogate (\\u{ord(found.group()):04x}), "
                    "not valid Unicode")
            _find_surrogates(child, where, errors)
    elif type(value) is list:
        for index, child in enumerate(value):
            _find_surrogates(child, f"{path}.{index}" if path else str(index), errors)


# ------------------------------------------------------------------ nesting


def _any_too_deep(items: list[Any]) -> bool:
    """Whether any item nests deeper than MAX_DEPTH (if orjson ever has no depth limit)."""
    level = items
    for _ in range(MAX_DEPTH + 1):
        found = list(compress(level, map(_CONTAINERS.__contains__, map(type, level))))
        if not found:
            return False
        is_dict = list(map(dict.__instancecheck__, found))
        level = list(chain(chain.from_iterable(map(dict.values, compress(found, is_dict))),
                           chain.from_iterable(compress(found, map(not_, is_dict)))))
    return True


def _too_deep(value: Any, levels: int) -> bool:
    """Whether value (a container counts as one level) nests deeper than levels."""
    if type(value) is not dict and type(value) is not list:
        return False
    if levels == 0:
        return True
    children = value.values() if type(value) is dict else value
    return any(_too_deep(child, levels - 1) for child in children)


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether the brackets of text (outside strings) ever nest deeper than limit."""
    depth = 0
    pos = _end(_SKIP, text)
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return False  # an unterminated string runs to the end
        depth += 1 if char in "[{" else -1
        if depth > limit:
            return True
        pos = _end(_SKIP, text, pos + 1)
    return False


# ------------------------------------------------------------------ the top-level array


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return f"line {line} column {column}"


def _broken(text: str, pos: int, what: str) -> BodyError:
    return BodyError(f"body: not valid JSON ({what} at {_where(text, pos)})")


def _array_items(text: str, start: int, max_items: int) -> list[tuple[int, int, bool]]:
    """Cut the array opening at text[start] into (first, end, too deep) spans of its items.

    Only the structure is checked (brackets balanced, strings terminated, items separated
    by commas, nothing after the array); each item's own syntax is left to its parser.
    """
    spans: list[tuple[int, int, bool]] = []
    size = len(text)
    pos = _end(_WS, text, start + 1)
    if pos < size and text[pos] == "]":
        end = pos + 1
    else:
        while True:
            if pos >= size:
                raise _broken(text, start, "the array opened here is never closed")
            char = text[pos]
            if char in "{[":
                end, deep = _container_end(text, pos)
            elif char in ",]":
                raise _broken(text, pos, "expected a value")
            else:
                found = _SCALAR.match(text, pos)
                if found is None:  # a quote that opens a string never closed
                    raise _broken(text, pos, "the string opened here is never closed")
                end, deep = found.end(), False
            spans.append((pos, end, deep))
            if len(spans) > max_items:
                raise _overflow(f"more than {max_items}", max_items)
            pos = _end(_WS, text, end)
            if pos < size and text[pos] == ",":
                pos = _end(_WS, text, pos + 1)
                continue
            if pos < size and text[pos] == "]":
                end = pos + 1
                break
            if pos >= size:
                raise _broken(text, start, "the array opened here is never closed")
            raise _broken(text, pos, "expected ',' or ']' after an item")
    trailing = _end(_WS, text, end)
    if trailing < size:
        raise _broken(text, trailing, "unexpected data after the array")
    return spans


def _container_end(text: str, start: int) -> tuple[int, bool]:
    """Return the end of the object/array opening at text[start] and whether it nests too deep.

    Brackets are counted, not matched ("[}" closes): a mismatch is the item's parser's to
    report, and the scan stays one regex step per bracket.
    """
    depth = 0
    size = len(text)
    pos = start
    while True:
        pos = _end(_SKIP, text, pos)
        if pos >= size:
            raise _broken(text, start, "the value opened here is never closed")
        char = text[pos]
        if char == '"':
            raise _broken(text, pos, "the string opened here is never closed")
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _deep_end(text, start, pos + 1, depth), True
        else:
            depth -= 1
            if depth == 0:
                return pos + 1, False
        pos += 1


def _deep_end(text: str, start: int, pos: int, depth: int) -> int:
    """Find the end of a too-deep value quickly: a block of text between strings with fewer
    closing brackets than the open ones cannot end it, so it is counted whole."""
    size = len(text)
    while True:
        pos = _end(_SKIP, text, pos)
        if pos >= size:
            raise _broken(text, start, "the value opened here is never closed")
        if text[pos] == '"':
            raise _broken(text, pos, "the string opened here is never closed")
        quote = text.find('"', pos, pos + _BLOCK)
        stop = quote if quote >= 0 else min(pos + _BLOCK, size)
        block = text[pos:stop]
        closing = block.count("]") + block.count("}")
        if closing < depth:
            depth += block.count("[") + block.count("{") - closing
        else:
            for found in _BRACKETS.finditer(text, pos, stop):
                depth += 1 if found.group() in "[{" else -1
                if depth == 0:
                    return found.end()
        pos = stop

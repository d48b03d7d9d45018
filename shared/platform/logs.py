"""Structured JSON-lines logging; secrets (tokens) are never logged."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from typing import Any, TextIO

from shared.platform.settings import Settings

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRET = re.compile(r"(aci_[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace anything shaped like a feed token or bearer credential."""
    return _SECRET.sub("[redacted]", text)


def _redact_value(value: Any) -> Any:
    """Redact strings at any depth of an extra field (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(v) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """Format records as one JSON object per line with their extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_") and key not in out:
                out[key] = _redact_value(value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(out, default=str)


def _log_stream() -> TextIO:
    """Return the real stderr.

    A Celery worker replaces sys.stderr with a LoggingProxy that feeds the logging system;
    a handler writing to that proxy would loop back into itself and Celery drops the record,
    so every log line after `worker_ready` vanished. Use the process's original stderr then.
    """
    stream = sys.stderr
    if isinstance(stream, io.TextIOBase) or sys.__stderr__ is None:
        return stream
    return sys.__stderr__


def configure_logging(settings: Settings) -> None:
    """Send the root logger to stderr as JSON lines (or plain text when log_json is off)."""
    handler = logging.StreamHandler(_log_stream())
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())

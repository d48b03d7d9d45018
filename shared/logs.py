"""Structured JSON-lines logging; secrets (tokens) are never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from shared.settings import Settings

_STD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRET = re.compile(r"(aci_[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)")


def redact(text: str) -> str:
    """Replace anything shaped like a feed token or bearer credential."""
    return _SECRET.sub("[redacted]", text)


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
            if key not in _STD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def configure_logging(settings: Settings) -> None:
    """Send the root logger to stderr as JSON lines (or plain text when log_json is off)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())

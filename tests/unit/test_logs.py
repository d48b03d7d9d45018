"""JSON-lines logging: structure, redaction of tokens wherever they hide, the stream used."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from shared.platform.logs import JsonFormatter, configure_logging, redact
from shared.platform.settings import Settings

TOKEN = "aci_" + "A1b2-C3d4_" * 4


def fmt(record: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    out: dict[str, object] = json.loads(line)
    return out


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("aicity.ingest", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_record_has_the_standard_fields_and_extras() -> None:
    out = fmt(record("batch", feed="admin", city_id="seoul", ranking_version=7))
    assert out["level"] == "info" and out["logger"] == "aicity.ingest" and out["msg"] == "batch"
    assert str(out["ts"]).endswith("Z") and "T" in str(out["ts"])
    assert out["feed"] == "admin" and out["city_id"] == "seoul" and out["ranking_version"] == 7


def test_tokens_are_redacted_in_message_args_extras_and_tracebacks() -> None:
    rec = record("auth %s with Bearer %s", TOKEN, "hunter2", header=f"Bearer {TOKEN}",
                 body={"items": [{"token": TOKEN}], TOKEN: 1}, pair=("x", TOKEN))
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert TOKEN not in line and TOKEN[4:] not in line and "hunter2" not in line
    assert "[redacted]" in json.loads(line)["msg"]


def test_redact_leaves_ordinary_text_alone() -> None:
    assert redact("city seoul moved to rank 2") == "city seoul moved to rank 2"
    assert redact(f"token={TOKEN}.") == "token=[redacted]."


class FakeProxy:
    """Stands for Celery's LoggingProxy, which feeds writes back into logging."""

    def write(self, data: str) -> int:
        raise AssertionError("the handler must not write to a stdout/stderr proxy")

    def flush(self) -> None:
        pass


def test_logging_bypasses_a_redirected_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    real = io.StringIO()
    monkeypatch.setattr(sys, "stderr", FakeProxy())
    monkeypatch.setattr(sys, "__stderr__", real)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(Settings(log_json=True))
        logging.getLogger("aicity.scoring").info("recomputed", extra={"city_id": "seoul"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    rec = json.loads(real.getvalue().splitlines()[-1])
    assert rec["msg"] == "recomputed" and rec["city_id"] == "seoul"

"""The Lua scripts live in .lua files, name only known keys and load whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.store import lua

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "shared" / "store" / "scripts"
# Lua calls into Redis, or its block comments and long strings: none belong in Python.
LUA_IN_PYTHON = re.compile(r"redis\.p?call\(|cjson\.|KEYS\[\d|ARGV\[\d")


def test_no_python_file_holds_lua() -> None:
    """No .py file under shared/ or services/ carries Lua."""
    found = [f"{path.relative_to(ROOT)}:{n}"
             for top in ("shared", "services") for path in sorted((ROOT / top).rglob("*.py"))
             for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
             if LUA_IN_PYTHON.search(line)]
    assert found == []


def test_every_script_file_is_registered_and_every_registered_script_has_a_file() -> None:
    """The registry and scripts/ agree."""
    assert {p.stem for p in SCRIPTS.glob("*.lua")} == set(lua.SCRIPTS)


@pytest.mark.parametrize("path", sorted(SCRIPTS.rglob("*.lua")), ids=lambda p: p.name)
def test_every_placeholder_is_a_known_key(path: Path) -> None:
    """Each ${...} in a .lua file names a keys.py constant or one-argument function."""
    text = path.read_text("utf-8")
    names = set(lua.PLACEHOLDER.findall(text))
    assert names <= set(lua.key_names()), names - set(lua.key_names())
    assert text.count("${") == len(lua.PLACEHOLDER.findall(text))  # none malformed


@pytest.mark.parametrize("name", sorted(lua.SCRIPTS))
def test_each_script_loads_with_keys_and_includes_filled(name: str) -> None:
    """A loaded script has no placeholder or include line left."""
    text = lua.source(name)
    assert "${" not in text and "-- include:" not in text
    assert "redis.call" in text or "redis.pcall" in text


def test_placeholders_stand_for_keys_py_names() -> None:
    """A constant stands for itself, a key function for its prefix."""
    names = lua.key_names()
    assert names["LOG"] == "aicity:log"
    assert names["inbox"] == "aicity:inbox:"
    assert "feed_stats" not in names  # two arguments: the scripts use FEED_STATS


def test_an_unknown_placeholder_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in a key name stops the load instead of writing to a wrong key."""
    monkeypatch.setitem(lua.SCRIPTS, "typo", "test")
    monkeypatch.setattr(lua, "_read", lambda path: "redis.call('GET', '${NO_SUCH_KEY}')")
    lua.source.cache_clear()
    try:
        with pytest.raises(ValueError, match="NO_SUCH_KEY"):
            lua.source("typo")
        with pytest.raises(KeyError):
            lua.source("nope")
    finally:
        lua.source.cache_clear()


def test_append_names_each_outcome_letter_once() -> None:
    """append.lua defines each outcome letter once, with the name the Python enum uses."""
    from shared.domain.outcome import Outcome

    text = (SCRIPTS / "append.lua").read_text("utf-8")
    defined = dict(re.findall(r"^local ([A-Z_]+) = '(\w)'", text, re.MULTILINE))
    assert defined == {o.name: o.value for o in Outcome}
    assert not re.search(r"(status\[k\]|verdict) = '\w'", text)  # letters only by name

"""The Lua scripts that make each multi-key step atomic inside Redis, and their loader.

Each script is a file in shared/store/scripts/ (shared pieces in scripts/lib/). Scripts
name keys with placeholders the loader fills from shared.store.keys: `${NAME}` is the
constant keys.NAME, `${name}` the prefix of the one-argument function keys.name (the script
appends the argument). A line `-- include: file.lua` is replaced by scripts/lib/file.lua.
An unknown placeholder or include fails loudly when the script is loaded.

Scripts are not Redis Cluster safe (their keys are not declared), which the README notes:
a cluster needs hash-tagged keys.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from importlib.resources import files

from redis.commands.core import Script

from shared.store import keys as K
from shared.store.connection import Client

# What each script does (its file is scripts/<name>.lua).
SCRIPTS = {
    "append": "append a batch of events (dedup, scope, review holds) and queue their cities",
    "commit": "commit a city's recompute if its revision did not move (compare-and-set)",
    "claim_pending": "set the pending flag of cities that lack one",
    "mark_all_dirty": "mark every city dirty (a full rebuild)",
    "ranked": "read a ranking with its version and cards at one instant",
    "bands_write": "publish rank bands unless newer ones are stored",
    "review_reject": "reject held events with a reason",
    "unlock": "release the locks a token still holds",
    "resolve_time": "find the last kept version committed at or before an instant",
    "history_snapshot": "read each city's history entry in force at a version",
    "history_scores": "read each city's score in force at a version",
    "history_cut": "drop history entries older than the cut",
    "history_seed": "give cities without history one entry",
    "hooks_enqueue": "move the change cursor and queue hook deliveries",
    "hooks_push": "queue hook deliveries",
    "hooks_due": "move due hook retries back to their queues",
    "hooks_want_dispatch": "set the hook dispatch flag if any hook exists",
    "quota_take": "take events from a feed's token bucket",
}

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
INCLUDE = re.compile(r"^-- include: ([a-z_]+\.lua)$", re.MULTILINE)


def key_names() -> dict[str, str]:
    """Return what each placeholder stands for: keys.py's constants and one-argument
    functions' prefixes."""
    out: dict[str, str] = {}
    for name, value in vars(K).items():
        if name.startswith("_"):
            continue
        if isinstance(value, str):
            out[name] = value
        elif inspect.isfunction(value) and len(inspect.signature(value).parameters) == 1:
            out[name] = value("")
    return out


def _read(path: str) -> str:
    return files("shared.store").joinpath("scripts", *path.split("/")).read_text("utf-8")


@cache
def source(name: str) -> str:
    """Return a script's Lua with its includes and key names filled in."""
    if name not in SCRIPTS:
        raise KeyError(f"no Lua script {name!r}; scripts: {', '.join(sorted(SCRIPTS))}")
    text = INCLUDE.sub(lambda m: _read(f"lib/{m.group(1)}").rstrip("\n"), _read(f"{name}.lua"))
    names = key_names()

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in names:
            raise ValueError(f"{name}.lua: unknown key placeholder ${{{key}}} "
                             "(not a constant or one-argument function of shared/store/keys.py)")
        return names[key]

    filled = PLACEHOLDER.sub(fill, text)
    if "${" in filled:
        raise ValueError(f"{name}.lua: malformed placeholder near "
                         f"{filled[filled.index('${'):][:40]!r}")
    return filled


def register(client: Client, name: str) -> Script:
    """Register a script with a client (redis-py loads it on first use, then calls by SHA)."""
    script: Script = client.register_script(source(name))
    return script

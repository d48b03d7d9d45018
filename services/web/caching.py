"""HTTP caching of the reads: ETags from the ranking (or methodology) version, CDN-fit
Cache-Control, and 304 answers to If-None-Match.

A ranking-derived response changes only when the ranking version moves (every commit that
changes a score bumps it) or the index date does, so a tag made of those, the methodology
version and the code's build id is a strong validator: equal tags mean equal bytes. A CDN
in front may serve a copy for `max-age` seconds and revalidate in the background for
`stale-while-revalidate` more; the live page learns of changes from the stream anyway.

A read that takes moments (as_of=, since=, until=) also depends on where they resolve, and a
span counts back from now: since=20s asked 30 s later over a quiet index is another moment
and another answer. So the instant each moment resolves to (spans: to the second; in a
thinned tier: the end of its bucket) is part of the tag and of the body cache's key.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from flask import Response, current_app, make_response, request

F = TypeVar("F", bound=Callable[..., Any])

LIVE = "public, max-age=2, stale-while-revalidate=30"  # ranking, city: seconds-fresh is fine
STABLE = "public, max-age=300, stale-while-revalidate=86400"  # methodology: moves with deploys

_WEB = Path(__file__).resolve().parent


def build_id() -> str:
    """Return a short digest of the web service's code, templates and static files.

    Every replica of one build computes the same id, so tags agree across replicas; a new
    build changes it, so no cache keeps an old page's markup past a deploy.
    """
    h = hashlib.sha256()
    files = sorted(p for p in _WEB.rglob("*") if p.is_file() and p.suffix in
                   (".py", ".html", ".js", ".css", ".svg"))
    files.append(_WEB.parents[1] / "shared" / "domain" / "readmodel.py")
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def moments_key(names: Sequence[str]) -> str:
    """Return the request's moments among `names` as the instants they resolve to (a bad
    moment raises the same BadQuery the view would)."""
    c = current_app.extensions["aicity"]
    parts = []
    for name in names:
        point = c.since() if name == "since" else c.moment(name)
        if point is not None:
            parts.append(f"{name}={point.kind[0]}{c.timeline.instant(point)}")
    return "&".join(parts)


def etag_for(kind: str, source: str, moments: Sequence[str] = ()) -> str:
    """Return the entity tag (unquoted) of a `kind` of response derived from `source` (and,
    for reads that take them, the request's resolved moments)."""
    c = current_app.extensions["aicity"]
    if source == "methodology":
        basis = f"{c.build}|{c.methodology.version}"
        return f"{kind}-m-{hashlib.sha256(basis.encode()).hexdigest()[:12]}"
    meta = c.stamp()
    # the UTC day: the default since= (the start of the day) moves at midnight
    basis = (f"{c.build}|{c.methodology.version}|{meta.index_date}|{meta.bands_version}|"
             f"{time.time() // 86_400:.0f}|{moments_key(moments)}")
    return f"{kind}-{meta.ranking_version}-{hashlib.sha256(basis.encode()).hexdigest()[:12]}"


def cacheable(kind: str, source: str = "ranking", moments: Sequence[str] = ()
              ) -> Callable[[F], F]:
    """Give a view's 200 answers an ETag and Cache-Control; answer If-None-Match with 304.

    `moments` names the moment parameters the view reads (as_of, since, until).
    """
    policy = STABLE if source == "methodology" else LIVE

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            tag = etag_for(kind, source, moments)
            if request.if_none_match and request.if_none_match.contains_weak(tag):
                resp = Response(status=304)
            else:
                resp = make_response(view(*args, **kwargs))
                if resp.status_code != 200:
                    return resp
            resp.set_etag(tag)
            resp.headers["Cache-Control"] = policy
            return resp

        return wrapped  # type: ignore[return-value]

    return decorate

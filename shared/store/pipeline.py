"""The pipeline's state as one read (backlog, freshness, ranking, broker, Redis health)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.store import broker
from shared.store import keys as K
from shared.store.connection import Client


@dataclass(frozen=True)
class PipelineState:
    log_length: int
    dirty_cities: int
    backlog: int
    ranking_version: int
    updated_ms: int
    ranked: int
    unranked: int
    cities: int
    queued_messages: int
    dead_lettered: int
    oldest_pending_ms: int | None  # append time of the oldest unscored event (sampled)
    used_memory: int
    maxmemory: int
    aof_enabled: bool
    aof_last_write_ok: bool


def read_pipeline_state(client: Client, sample: int = 200) -> PipelineState:
    """Read the pipeline's state; the oldest pending event is sampled over `sample` cities."""
    pipe = client.pipeline(transaction=False)
    pipe.xlen(K.LOG)
    pipe.scard(K.DIRTY)
    pipe.get(K.BACKLOG)
    pipe.hmget(K.INDEX, "version", "updated_ms")
    pipe.zcard(K.RANK_OVERALL)
    pipe.hlen(K.UNRANKED)
    pipe.scard(K.CITIES)
    pipe.get(K.DEAD_LETTERED)
    (log_len, dirty, backlog, (version, updated), ranked, unranked, cities,
     dead) = pipe.execute()
    oldest_ms = None
    dirty_sample = client.srandmember(K.DIRTY, sample) or []
    if dirty_sample:
        pipe = client.pipeline(transaction=False)
        for city in dirty_sample:
            pipe.lindex(K.inbox(city), 0)
        heads = [h for h in pipe.execute() if h]
        if heads:  # an inbox starts with the oldest event's log id: "<append ms>-<seq> ..."
            oldest_ms = min(int(h.split("-", 1)[0]) for h in heads)
    mem = client.info("memory")
    persistence = client.info("persistence")
    return PipelineState(
        log_length=int(log_len), dirty_cities=int(dirty), backlog=int(backlog or 0),
        ranking_version=int(version or 0), updated_ms=int(updated or 0), ranked=int(ranked),
        unranked=int(unranked), cities=int(cities), queued_messages=broker.queued(client),
        dead_lettered=int(dead or 0), oldest_pending_ms=oldest_ms,
        used_memory=int(mem.get("used_memory", 0)), maxmemory=int(mem.get("maxmemory", 0)),
        aof_enabled=bool(int(persistence.get("aof_enabled", 0))),
        aof_last_write_ok=persistence.get("aof_last_write_status", "ok") == "ok",
    )

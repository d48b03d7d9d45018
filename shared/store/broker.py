"""The Celery broker's keys in Redis (kombu's Redis transport), read for metrics and checks."""

from __future__ import annotations

from shared.platform.messaging import QUEUE
from shared.store.connection import Client

# kombu keeps a queue with priorities as several lists: the name, then name + "\x06\x16" + p.
QUEUE_KEYS = [QUEUE] + [f"{QUEUE}\x06\x16{p}" for p in (3, 6, 9)]
UNACKED = "unacked"  # hash: delivery tag -> message, while a worker holds it (acks_late)


def queued(client: Client) -> int:
    """Return the scoring messages waiting in the broker."""
    pipe = client.pipeline(transaction=False)
    for key in QUEUE_KEYS:
        pipe.llen(key)
    return sum(int(n) for n in pipe.execute())


def unacked(client: Client) -> int:
    """Return the messages delivered to a worker and not yet acknowledged."""
    return int(client.hlen(UNACKED))

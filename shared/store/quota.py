"""Per-feed token buckets (events per second) kept in Redis, so every ingest replica agrees."""

from __future__ import annotations

from shared.store import keys as K
from shared.store.connection import Client

# ARGV: key, rate (events/s), burst, events wanted, now (ms). Returns the milliseconds to
# wait before that many events would fit ('0': taken now).
TAKE = """
local key, rate, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local want, now = math.min(tonumber(ARGV[4]), burst), tonumber(ARGV[5])
local v = redis.call('HMGET', key, 't', 'ts')
local tokens, ts = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if want > tokens then
  wait = math.ceil((want - tokens) * 1000 / rate)
else
  tokens = tokens - want
end
redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return tostring(wait)
"""


class FeedQuota:
    """Take events from a feed's bucket: `rate` per second sustained, `burst` at once."""

    def __init__(self, client: Client, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._take = client.register_script(TAKE)

    def take(self, feed: str, events: int, now_ms: int) -> float:
        """Take events from the feed's bucket; return 0.0, or the seconds to wait (nothing taken)."""
        wait_ms = int(self._take(keys=[], args=[K.feed_quota(feed), self.rate, self.burst,
                                                 events, now_ms]))
        return wait_ms / 1000.0

-- Commit one city's recompute if nothing moved underneath it (compare-and-set).
--
-- ARGV[1], a JSON header (cjson; no score passes through it): city, rev (the revision
-- read, a string), consumed (events folded), index_date ('' = the base date) and
-- methodology the result was computed with, now_ms, changed (the result differs from the
-- stored one), history_max (entries kept per city), changes_maxlen, stats_hour_ms and
-- stats_ttl_s (the feed report's hourly buckets), pillars (codes, in the order of their
-- scores below), feeds ([feed, events consumed] pairs: their backlog shares), dead (how
-- many dead letters follow).
-- Then raw strings, stored verbatim: 2 state JSON, 3 result JSON, 4 card JSON, 5 overall
-- score ('' = unranked), 6 unranked reason, 7 the history entry and 8 the change message,
-- each a complete JSON object without the members only this script knows (it puts them
-- first), then one score per pillar ('' = unranked in it), then (event id, reason) pairs:
-- events that could not be applied, marked failed.
--
-- Event statuses are not written per event: the consumed watermark and the state tell them.
-- A changed city gets a new ranking version stamped with the Redis clock (never earlier
-- than the previous version's), one history entry at that version and one change message.
-- include: submission.lua
-- include: entry.lua
local h = cjson.decode(ARGV[1])
local city = h.city
local score, reason, entry, message = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local rev_key = '${city_rev}' .. city
if (redis.call('GET', rev_key) or '0') ~= h.rev then return {'conflict'} end
if (redis.call('HGET', '${INDEX}', 'date') or '') ~= h.index_date then return {'conflict'} end
if (redis.call('HGET', '${INDEX}', 'methodology') or '') ~= h.methodology then
  return {'methodology'}
end
local inbox = '${inbox}' .. city
local consumed = h.consumed
local watermark = 0
if consumed > 0 then
  redis.call('LTRIM', inbox, 2 * consumed, -1)
  redis.call('DECRBY', '${BACKLOG}', consumed)
  watermark = redis.call('INCRBY', '${consumed}' .. city, consumed)
end
redis.call('SET', '${city_state}' .. city, ARGV[2])
redis.call('INCR', rev_key)
local ver = tonumber(redis.call('HGET', '${INDEX}', 'version') or '0')
local old_rank, new_rank = -1, -1
for _, pair in ipairs(h.feeds) do
  redis.call('DECRBY', '${feed_backlog}' .. pair[1], pair[2])
end
local j = 9 + #h.pillars  -- the first dead letter
for d = 0, h.dead - 1 do
  local key, why = '${event}' .. ARGV[j + 2 * d], ARGV[j + 2 * d + 1]
  local rec = redis.pcall('GET', key)
  if type(rec) == 'string' then
    local sender = submission(rec).feed
    if sender and sender ~= '' then  -- the feed's report counts it as failed
      local hkey = '${FEED_STATS}:' .. math.floor(h.now_ms / h.stats_hour_ms) .. ':' .. sender
      redis.call('HINCRBY', hkey, 'failed', 1)
      redis.call('EXPIRE', hkey, h.stats_ttl_s)
      redis.call('HINCRBY', '${FEED_STATS}:all:' .. sender, 'failed', 1)
    end
    local left = redis.call('PTTL', key)
    if left > 0 then
      redis.call('SET', key, rec .. '|failed|' .. why, 'PX', left)
    else
      redis.call('SET', key, rec .. '|failed|' .. why)
    end
  end
  redis.call('INCR', '${DEAD_LETTERED}')
  redis.call('LPUSH', '${DEAD}', city .. ' ' .. key .. ' ' .. why)
  redis.call('LTRIM', '${DEAD}', 0, 999)
end
if h.changed then
  local old_score = redis.call('ZSCORE', '${RANK_OVERALL}', city)
  if old_score then
    old_rank = redis.call('ZCOUNT', '${RANK_OVERALL}', '(' .. old_score, '+inf') + 1
  end
  redis.call('SET', '${city_result}' .. city, ARGV[3])
  redis.call('SET', '${city_card}' .. city, ARGV[4])
  if score ~= '' then
    redis.call('ZADD', '${RANK_OVERALL}', score, city)
    redis.call('HDEL', '${UNRANKED}', city)
    new_rank = redis.call('ZCOUNT', '${RANK_OVERALL}', '(' .. score, '+inf') + 1
  else
    redis.call('ZREM', '${RANK_OVERALL}', city)
    redis.call('HSET', '${UNRANKED}', city, reason)
  end
  for p, code in ipairs(h.pillars) do
    local zkey = '${rank_pillar}' .. code
    local pillar_score = ARGV[8 + p]
    if pillar_score ~= '' then
      redis.call('ZADD', zkey, pillar_score, city)
    else
      redis.call('ZREM', zkey, city)
    end
  end
  ver = redis.call('HINCRBY', '${INDEX}', 'version', 1)
  local now = redis.call('TIME')
  local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local last_t = tonumber(redis.call('HGET', '${INDEX}', 'updated_ms') or '0')
  if t < last_t then t = last_t end
  redis.call('HSET', '${INDEX}', 'updated_ms', t)
  redis.call('ZADD', '${VERSIONS}', ver, ver .. ':' .. t)
  local rank_json = new_rank > 0 and tostring(new_rank) or 'null'
  local hkey = '${city_history}' .. city
  redis.call('ZADD', hkey, ver, with_head('"v":' .. ver .. ',"t":' .. t .. ',"r":' .. rank_json,
                                          entry))
  redis.call('ZREMRANGEBYRANK', hkey, 0, -h.history_max - 1)
  local old_json = old_rank > 0 and tostring(old_rank) or 'null'
  local delta_json = (old_rank > 0 and new_rank > 0) and tostring(new_rank - old_rank) or 'null'
  redis.call('XADD', '${CHANGES}', 'MAXLEN', '~', h.changes_maxlen, '*', 'c',
    with_head('"ranking_version":' .. ver .. ',"t":' .. t .. ',"rank":' .. rank_json ..
      ',"old_rank":' .. old_json .. ',"rank_delta":' .. delta_json .. ',"city_id":"' .. city ..
      '"', message))
end
if watermark > 0 then
  local zkey = '${scored_versions}' .. city
  redis.call('ZADD', zkey, watermark, watermark .. ':' .. ver)
  redis.call('ZREMRANGEBYRANK', zkey, 0, -1001)
end
local clean = 0
if redis.call('LLEN', inbox) == 0 then
  redis.call('SREM', '${DIRTY}', city)
  clean = 1
end
return {'ok', ver, old_rank, new_rank, clean}

"""Lua scripts that make each multi-key step atomic inside Redis.

Scripts name their keys from shared.store.keys; they are not Redis Cluster safe (the
keys are not declared), which the README notes: a cluster needs hash-tagged keys.
"""

from shared.store import keys as K

# ARGV: pending_ttl, n, then per event: its submission key, city ('' for a tick), json,
# tick version ('' unless tick), tick date ('' unless tick).
# A city's inbox holds two elements per event, the log id (whose milliseconds are the ack
# time) and the json: pushing both avoids building a new string per event inside Lua.
# Returns {status chars ('a' accepted, 'd' duplicate), rebuild '1'/'0', {cities to enqueue}}.
APPEND = f"""
local ttl, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local status, order, touched = {{}}, {{}}, {{}}
local rebuild, city_events = '0', 0
local base = {{}}  -- per city: events consumed so far, to number each new event
local i = 3
for k = 1, n do
  local key, city, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local tickv, tickdate = ARGV[i + 3], ARGV[i + 4]
  i = i + 5
  if redis.call('EXISTS', key) == 1 then
    status[k] = 'd'
  else
    status[k] = 'a'
    local sid = redis.call('XADD', '{K.LOG}', '*', 'e', body)
    if city ~= '' then
      if not base[city] then
        base[city] = tonumber(redis.call('GET', '{K.consumed("")}' .. city) or '0')
      end
      local len = redis.call('RPUSH', '{K.inbox("")}' .. city, sid, body)
      -- c: city, x: log id, p: position in the city's sequence (scored once consumed >= p)
      redis.call('HSET', key, 'c', city, 'x', sid, 'p', base[city] + len / 2)
      city_events = city_events + 1
      if not touched[city] then
        touched[city] = true
        order[#order + 1] = city
      end
    else
      local cur = redis.call('HGET', '{K.INDEX}', 'tick')
      local verdict = 'superseded'
      if (not cur) or cur < tickv then
        redis.call('HSET', '{K.INDEX}', 'tick', tickv, 'date', tickdate)
        verdict = 'applied'
        rebuild = '1'
      end
      redis.call('HSET', key, 's', verdict, 'x', sid)
    end
  end
end
if city_events > 0 then
  redis.call('INCRBY', '{K.BACKLOG}', city_events)
end
-- One SADD per set for the whole batch (in chunks within Lua's unpack limit), not per city.
for s = 1, #order, 1000 do
  local chunk = {{unpack(order, s, math.min(s + 999, #order))}}
  redis.call('SADD', '{K.CITIES}', unpack(chunk))
  redis.call('SADD', '{K.DIRTY}', unpack(chunk))
end
if rebuild == '1' then
  redis.call('SUNIONSTORE', '{K.DIRTY}', '{K.DIRTY}', '{K.CITIES}')
end
local enqueue = {{}}
for _, city in ipairs(order) do
  if redis.call('SET', '{K.pending("")}' .. city, '1', 'NX', 'EX', ttl) then
    enqueue[#enqueue + 1] = city
  end
end
return {{table.concat(status), rebuild, enqueue}}
"""

# KEYS[1]: a ranking sorted set. Return the ranking version, the (city, score) pairs best
# first and each city's card, read at one instant so a row's card, score and rank agree.
# Cards are fetched in chunks that stay within Lua's unpack limit.
RANKED = f"""
local version = redis.call('HGET', '{K.INDEX}', 'version') or '0'
local flat = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local cards = {{}}
for s = 1, #flat, 2000 do
  local names = {{}}
  for i = s, math.min(s + 1999, #flat), 2 do
    names[#names + 1] = '{K.city_card("")}' .. flat[i]
  end
  local got = redis.call('MGET', unpack(names))
  for j = 1, #names do cards[#cards + 1] = got[j] end
end
return {{version, flat, cards}}
"""

# Mark every city dirty (a full rebuild) and return nothing.
MARK_ALL_DIRTY = f"""
redis.call('SUNIONSTORE', '{K.DIRTY}', '{K.DIRTY}', '{K.CITIES}')
return redis.call('SCARD', '{K.DIRTY}')
"""

# ARGV: pending_ttl, then cities. Set the pending flag where absent; return those cities.
CLAIM_PENDING = f"""
local out = {{}}
for i = 2, #ARGV do
  if redis.call('SET', '{K.pending("")}' .. ARGV[i], '1', 'NX', 'EX', tonumber(ARGV[1])) then
    out[#out + 1] = ARGV[i]
  end
end
return out
"""

# Commit one city's recompute if nothing moved underneath it (compare-and-set).
# ARGV: 1 city, 2 expected rev, 3 consumed, 4 state json, 5 result json, 6 card json,
# 7 score ('' = unranked), 8 reason, 9 index date used ('' = base date), 10 methodology,
# 11 now_ms, 12 changed '1'/'0', 13 history body (JSON members without braces),
# 14 history length, 15 changes maxlen, 16 n pillars, then pillar/score pairs.
# Event statuses are not written per event: the consumed watermark and the state tell them.
COMMIT = f"""
local city = ARGV[1]
local rev_key = '{K.city_rev("")}' .. city
if (redis.call('GET', rev_key) or '0') ~= ARGV[2] then return {{'conflict'}} end
if (redis.call('HGET', '{K.INDEX}', 'date') or '') ~= ARGV[9] then return {{'conflict'}} end
if (redis.call('HGET', '{K.INDEX}', 'methodology') or '') ~= ARGV[10] then
  return {{'methodology'}}
end
local inbox = '{K.inbox("")}' .. city
local consumed = tonumber(ARGV[3])
local watermark = 0
if consumed > 0 then
  redis.call('LTRIM', inbox, 2 * consumed, -1)
  redis.call('DECRBY', '{K.BACKLOG}', consumed)
  watermark = redis.call('INCRBY', '{K.consumed("")}' .. city, consumed)
end
redis.call('SET', '{K.city_state("")}' .. city, ARGV[4])
redis.call('INCR', rev_key)
local ver = tonumber(redis.call('HGET', '{K.INDEX}', 'version') or '0')
local old_rank, new_rank = -1, -1
local i = 16
local npillars = tonumber(ARGV[i])
i = i + 1
if ARGV[12] == '1' then
  local old_score = redis.call('ZSCORE', '{K.RANK_OVERALL}', city)
  if old_score then
    old_rank = redis.call('ZCOUNT', '{K.RANK_OVERALL}', '(' .. old_score, '+inf') + 1
  end
  redis.call('SET', '{K.city_result("")}' .. city, ARGV[5])
  redis.call('SET', '{K.city_card("")}' .. city, ARGV[6])
  if ARGV[7] ~= '' then
    redis.call('ZADD', '{K.RANK_OVERALL}', ARGV[7], city)
    redis.call('HDEL', '{K.UNRANKED}', city)
    new_rank = redis.call('ZCOUNT', '{K.RANK_OVERALL}', '(' .. ARGV[7], '+inf') + 1
  else
    redis.call('ZREM', '{K.RANK_OVERALL}', city)
    redis.call('HSET', '{K.UNRANKED}', city, ARGV[8])
  end
  for p = 1, npillars do
    local zkey = '{K.rank_pillar("")}' .. ARGV[i]
    if ARGV[i + 1] ~= '' then
      redis.call('ZADD', zkey, ARGV[i + 1], city)
    else
      redis.call('ZREM', zkey, city)
    end
    i = i + 2
  end
  ver = redis.call('HINCRBY', '{K.INDEX}', 'version', 1)
  redis.call('HSET', '{K.INDEX}', 'updated_ms', ARGV[11])
  local head = '{{"ranking_version":' .. ver .. ',"t":' .. ARGV[11] .. ',"rank":'
  local rank_json = new_rank > 0 and tostring(new_rank) or 'null'
  local hist = head .. rank_json .. ',' .. ARGV[13] .. '}}'
  local hkey = '{K.city_history("")}' .. city
  redis.call('RPUSH', hkey, hist)
  redis.call('LTRIM', hkey, -tonumber(ARGV[14]), -1)
  local old_json = old_rank > 0 and tostring(old_rank) or 'null'
  redis.call('XADD', '{K.CHANGES}', 'MAXLEN', '~', ARGV[15], '*', 'c',
    head .. rank_json .. ',"old_rank":' .. old_json .. ',"city_id":"' .. city .. '",' .. ARGV[13] .. '}}')
end
if watermark > 0 then
  local zkey = '{K.scored_versions("")}' .. city
  redis.call('ZADD', zkey, watermark, watermark .. ':' .. ver)
  redis.call('ZREMRANGEBYRANK', zkey, 0, -1001)
end
local clean = 0
if redis.call('LLEN', inbox) == 0 then
  redis.call('SREM', '{K.DIRTY}', city)
  clean = 1
end
return {{'ok', ver, old_rank, new_rank, clean}}
"""

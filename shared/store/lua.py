"""Lua scripts that make each multi-key step atomic inside Redis.

Scripts name their keys from shared.store.keys; they are not Redis Cluster safe (the
keys are not declared), which the README notes: a cluster needs hash-tagged keys.
"""

from shared.store import keys as K
from shared.store.feed_stats import BUCKET_TTL, HOUR_MS

# How far (degrees of latitude or longitude) a scoped feed's city.upserted may place a city
# from where an admin feed put it: rounding, not a move.
PLACE_TOLERANCE_DEGREES = 0.01

_FEED_STATS_HOUR = K.feed_stats("", "").removesuffix(":")  # + hour .. ':' .. feed

# ARGV: 1 pending_ttl, 2 n, 3 feed name, 4 admin '1', scoped '0' or restore 'R' (an admin
# replaying an export: removals and project limits are not checked), 5 retention seconds
# (0: records kept), 6 max projects per city, 7 dry run '1' (answer what the append would
# do and write nothing: effects within the batch are tracked in Lua tables) or '0', 8 the
# most events one feed may have held for review, then per event (10 each): its submission
# key, city ('' for a tick), canonical json, content hash, version ('utc|event_id', only for
# a tick or a city upsert), tick date ('' unless tick), op ('P' project upsert, 'R' project
# removal, 'C' city upsert, '' other), op argument (the project id, or the city's identity
# 'name<US>country<US>region', then <RS> and its place 'lat<US>lon<US>population'), review
# ('' none, 'H' followed by the event type: hold it for review, 'L' release a held event),
# the held entry's JSON (with 'H').
# A held event is stored in the held hash and its feed's held set, its record (no expiry
# while held) reads 'city|held|<ms held>|hash|feed|type|held'; it reaches no log, inbox or
# score until released ('L': it must still be held, then it is appended like any accepted
# event). An admin feed's accepted events and a release are an operator's decision: they
# close the touched cities' review windows (the next scoped batch opens one from there).
# A city's inbox holds two elements per event: '<log id> <feed>' (the log id's
# milliseconds are the ack time) and the json. A submission record is one string (see
# keys.event): one SET with its expiry, smaller than a hash.
# Returns {status chars, rebuild '1'/'0', {cities to enqueue}}. Status: 'a' accepted,
# 'd' duplicate (same id, same content, same feed), 'r' id reused with other content or by
# another feed, 'n' city does not exist (only admin feeds create cities), 'u' removal of a
# project the city never had, 'i' a non-admin change of name/country/region, 'g' a non-admin
# move of the city's place (beyond the tolerance) or change of its population, 'l' the
# city's project limit reached, 'h' held for review, 'q' the feed's held events at their cap,
# 'x' release of an event not held.
APPEND = f"""
local ttl, n, feed, admin = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4] ~= '0'
local restore = ARGV[4] == 'R'
local retention, max_projects = tonumber(ARGV[5]), tonumber(ARGV[6])
local dry = ARGV[7] == '1'
local max_held, held_count = tonumber(ARGV[8]), nil
local held_key = '{K.held_by_feed("")}' .. feed
local shadow_rec, shadow_member, shadow_card = {{}}, {{}}, {{}}  -- dry run: the batch's writes
local shadow_tick = nil
local suffix = ' ' .. feed
local status, order, touched = {{}}, {{}}, {{}}
local rebuild, city_events = '0', 0
local base = {{}}  -- per city: events consumed so far, to number each new event
local known = {{}}  -- per city: exists (for non-admin feeds)
local function record(key, value)
  if dry then
    shadow_rec[key] = value
  elseif retention > 0 then
    redis.call('SET', key, value, 'EX', retention)
  else
    redis.call('SET', key, value)
  end
end
local function is_member(pkey, member)
  if shadow_member[pkey .. '\0' .. member] then return true end
  return redis.call('SISMEMBER', pkey, member) == 1
end
local function add_member(pkey, member)
  if dry then
    if not is_member(pkey, member) then
      shadow_member[pkey .. '\0' .. member] = true
      shadow_card[pkey] = (shadow_card[pkey] or 0) + 1
    end
  else
    redis.call('SADD', pkey, member)
  end
end
local function same_place(stored, place)
  if not stored then return false end
  local a = {{}}
  for part in string.gmatch(stored .. '\\31' .. place, '[^\\31]+') do a[#a + 1] = tonumber(part) end
  if #a ~= 6 then return false end
  local dlon = math.abs(a[2] - a[5]) % 360
  dlon = math.min(dlon, 360 - dlon)
  return math.abs(a[1] - a[4]) <= {PLACE_TOLERANCE_DEGREES} and dlon <= {PLACE_TOLERANCE_DEGREES}
    and a[3] == a[6]
end
local released = {{}}  -- cities with a released event: their review windows close
local ev_prefix = {len(K.event(""))}
local i = 9
for k = 1, n do
  local key, city, body, hash = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local ver, tickdate, op, oparg = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local review, held_json = ARGV[i + 8], ARGV[i + 9]
  local held_type = string.sub(review, 2)
  review = string.sub(review, 1, 1)
  i = i + 10
  local verdict = nil
  local prev = shadow_rec[key] or redis.pcall('GET', key)
  if review == 'L' then
    if type(prev) ~= 'string' or string.sub(prev, -5) ~= '|held' then verdict = 'x' end
  elseif type(prev) == 'table' then
    verdict = 'd'  -- a record of an older format (a hash): that id is taken
  elseif prev then
    local _, _, phash, pfeed = string.find(prev, '^[^|]*|[^|]*|[^|]*|([^|]*)|([^|]*)')
    if phash == hash and pfeed == feed then verdict = 'd' else verdict = 'r' end
  elseif city ~= '' then
    if not admin then
      if known[city] == nil then
        known[city] = redis.call('SISMEMBER', '{K.CITIES}', city) == 1
      end
      if not known[city] then verdict = 'n' end
    end
    if not verdict and op ~= '' then
      if op == 'R' then
        if restore then
          add_member('{K.city_projects("")}' .. city, oparg)
        elseif not is_member('{K.city_projects("")}' .. city, oparg) then
          verdict = 'u'
        end
      elseif op == 'P' then
        local pkey = '{K.city_projects("")}' .. city
        if not is_member(pkey, oparg) then
          local card = redis.call('SCARD', pkey) + (shadow_card[pkey] or 0)
          if (not restore) and card >= max_projects then
            verdict = 'l'
          else
            add_member(pkey, oparg)
          end
        end
      elseif op == 'C' then
        local ikey = '{K.city_identity("")}' .. city
        local cut = string.find(oparg, '\\30', 1, true)
        local ident, place = string.sub(oparg, 1, cut - 1), string.sub(oparg, cut + 1)
        if admin then
          local cur = redis.call('HGET', ikey, 'v')
          if ((not cur) or cur < ver) and not dry then
            redis.call('HSET', ikey, 'v', ver, 'id', ident, 'place', place)
          end
        elseif redis.call('HGET', ikey, 'id') ~= ident then
          verdict = 'i'
        elseif not same_place(redis.call('HGET', ikey, 'place'), place) then
          verdict = 'g'
        end
      end
    end
  end
  if not verdict and review == 'H' then
    held_count = held_count or redis.call('ZCARD', held_key)
    if held_count >= max_held then verdict = 'q' else held_count = held_count + 1 end
  end
  if verdict then
    status[k] = verdict
  elseif dry then
    status[k] = review == 'H' and 'h' or 'a'
    record(key, '|||' .. hash .. '|' .. feed)
    if city == '' then
      local cur = shadow_tick or redis.call('HGET', '{K.INDEX}', 'tick')
      if (not cur) or cur < ver then
        shadow_tick = ver
        rebuild = '1'
      end
    end
  elseif review == 'H' then
    status[k] = 'h'
    local t = redis.call('TIME')
    local held_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local eid = string.sub(key, ev_prefix + 1)
    redis.call('SET', key, city .. '|held|' .. held_ms .. '|' .. hash .. '|' .. feed .. '|' ..
      held_type .. '|held')
    redis.call('HSET', '{K.HELD}', eid, held_json)
    redis.call('ZADD', '{K.HELD_SINCE}', held_ms, eid)
    redis.call('ZADD', held_key, held_ms, eid)
  else
    status[k] = 'a'
    if review == 'L' then
      local eid = string.sub(key, ev_prefix + 1)
      redis.call('HDEL', '{K.HELD}', eid)
      redis.call('ZREM', '{K.HELD_SINCE}', eid)
      redis.call('ZREM', held_key, eid)
      released[city] = true
    end
    local sid = redis.call('XADD', '{K.LOG}', '*', 'e', body)
    if city ~= '' then
      if not base[city] then
        base[city] = tonumber(redis.call('GET', '{K.consumed("")}' .. city) or '0')
      end
      local len = redis.call('RPUSH', '{K.inbox("")}' .. city, sid .. suffix, body)
      -- position in the city's sequence: the event is scored once consumed >= it
      record(key, city .. '|' .. sid .. '|' .. (base[city] + len / 2) .. '|' .. hash .. '|' .. feed)
      city_events = city_events + 1
      if not touched[city] then
        touched[city] = true
        order[#order + 1] = city
      end
    else
      local cur = redis.call('HGET', '{K.INDEX}', 'tick')
      local tick_status = 'superseded'
      if (not cur) or cur < ver then
        redis.call('HSET', '{K.INDEX}', 'tick', ver, 'date', tickdate)
        tick_status = 'applied'
        rebuild = '1'
      end
      record(key, '|' .. sid .. '|0|' .. hash .. '|' .. feed .. '|' .. tick_status)
    end
  end
end
if dry then return {{table.concat(status), rebuild, {{}}}} end
if city_events > 0 then
  redis.call('INCRBY', '{K.BACKLOG}', city_events)
  redis.call('INCRBY', '{K.feed_backlog("")}' .. feed, city_events)
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
  if admin or released[city] then redis.call('DEL', '{K.review_baseline("")}' .. city) end
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
# 11 now_ms, 12 changed '1'/'0', 13 history entry body (JSON members without braces),
# 14 most history entries kept per city, 15 changes maxlen, 16 n pillars, 17 change message
# extras (JSON members without braces, may be ''), then pillar/score pairs, then the
# number of feeds and (feed, events consumed) pairs, then the number of dead letters and
# (submission key, reason) pairs: events that could not be applied, marked failed.
# Event statuses are not written per event: the consumed watermark and the state tell them.
# A changed city gets a new ranking version stamped with the Redis clock (never earlier
# than the previous version's), one history entry at that version and one change message.
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
local npillars = tonumber(ARGV[16])
local j = 18 + 2 * npillars
local nfeeds = tonumber(ARGV[j])
for f = 1, nfeeds do
  redis.call('DECRBY', '{K.feed_backlog("")}' .. ARGV[j + 2 * f - 1], ARGV[j + 2 * f])
end
j = j + 2 * nfeeds + 1
local ndead = tonumber(ARGV[j])
for d = 1, ndead do
  local key, reason = ARGV[j + 2 * d - 1], ARGV[j + 2 * d]
  local rec = redis.pcall('GET', key)
  if type(rec) == 'string' then
    local sender = string.match(rec, '^[^|]*|[^|]*|[^|]*|[^|]*|([^|]*)')
    if sender and sender ~= '' then  -- the feed's report counts it as failed
      local hkey = '{_FEED_STATS_HOUR}' .. math.floor(tonumber(ARGV[11]) / {HOUR_MS}) .. ':' .. sender
      redis.call('HINCRBY', hkey, 'failed', 1)
      redis.call('EXPIRE', hkey, {BUCKET_TTL})
      redis.call('HINCRBY', '{K.feed_stats("", "all")}' .. sender, 'failed', 1)
    end
    local left = redis.call('PTTL', key)
    if left > 0 then
      redis.call('SET', key, rec .. '|failed|' .. reason, 'PX', left)
    else
      redis.call('SET', key, rec .. '|failed|' .. reason)
    end
  end
  redis.call('INCR', '{K.DEAD_LETTERED}')
  redis.call('LPUSH', '{K.DEAD}', city .. ' ' .. key .. ' ' .. reason)
  redis.call('LTRIM', '{K.DEAD}', 0, 999)
end
local i = 18
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
  local now = redis.call('TIME')
  local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local last_t = tonumber(redis.call('HGET', '{K.INDEX}', 'updated_ms') or '0')
  if t < last_t then t = last_t end
  redis.call('HSET', '{K.INDEX}', 'updated_ms', t)
  redis.call('ZADD', '{K.VERSIONS}', ver, ver .. ':' .. t)
  local rank_json = new_rank > 0 and tostring(new_rank) or 'null'
  local head = '{{"v":' .. ver .. ',"t":' .. t .. ',"r":' .. rank_json
  local hkey = '{K.city_history("")}' .. city
  redis.call('ZADD', hkey, ver, head .. ',' .. ARGV[13] .. '}}')
  redis.call('ZREMRANGEBYRANK', hkey, 0, -tonumber(ARGV[14]) - 1)
  local old_json = old_rank > 0 and tostring(old_rank) or 'null'
  local extras = ARGV[17] ~= '' and (',' .. ARGV[17]) or ''
  local delta_json = (old_rank > 0 and new_rank > 0) and tostring(new_rank - old_rank) or 'null'
  redis.call('XADD', '{K.CHANGES}', 'MAXLEN', '~', ARGV[15], '*', 'c',
    '{{"ranking_version":' .. ver .. ',"t":' .. t .. ',"rank":' .. rank_json ..
    ',"old_rank":' .. old_json .. ',"rank_delta":' .. delta_json .. ',"city_id":"' .. city ..
    '"' .. extras .. '}}')
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

# Publish rank bands unless newer ones are already stored (the newest version wins).
# ARGV: 1 ranking version the bands were computed for, 2 the bands' JSON.
# Also records the version in the index hash (field 'bands'), so readers' caches and HTTP
# tags move when the bands do. Returns 1 if written, 0 if older than the stored bands.
BANDS_WRITE = f"""
local cur = tonumber(redis.call('HGET', '{K.INDEX}', 'bands') or '-1')
if tonumber(ARGV[1]) < cur then return 0 end
redis.call('SET', '{K.BANDS}', ARGV[2])
redis.call('HSET', '{K.INDEX}', 'bands', ARGV[1])
return 1
"""

# Reject held events. ARGV: 1 retention seconds (0: records kept), 2 reason, then event ids.
# Each still held gets its record marked 'rejected' with the reason and leaves the held set;
# returns, per id, its held entry's JSON or '' (not held: released, rejected or unknown).
REVIEW_REJECT = f"""
local retention, reason = tonumber(ARGV[1]), ARGV[2]
local out = {{}}
for a = 3, #ARGV do
  local eid = ARGV[a]
  local key = '{K.event("")}' .. eid
  local entry = redis.call('HGET', '{K.HELD}', eid)
  local rec = redis.pcall('GET', key)
  if entry and type(rec) == 'string' and string.sub(rec, -5) == '|held' then
    local value = string.sub(rec, 1, -5) .. 'rejected|' .. reason
    if retention > 0 then
      redis.call('SET', key, value, 'EX', retention)
    else
      redis.call('SET', key, value)
    end
    redis.call('HDEL', '{K.HELD}', eid)
    redis.call('ZREM', '{K.HELD_SINCE}', eid)
    local _, _, feed = string.find(rec, '^[^|]*|[^|]*|[^|]*|[^|]*|([^|]*)')
    redis.call('ZREM', '{K.held_by_feed("")}' .. feed, eid)
    out[#out + 1] = entry
  else
    out[#out + 1] = ''
  end
end
return out
"""

# Release locks still held by a token. ARGV: 1 token, then lock keys.
UNLOCK = """
for a = 2, #ARGV do
  if redis.call('GET', ARGV[a]) == ARGV[1] then redis.call('DEL', ARGV[a]) end
end
return 0
"""

-- Append a batch of validated events in one atomic step (only then may ingest say 202).
--
-- ARGV[1], a JSON header (cjson; no score passes through it):
--   feed, admin (true for an admin feed or a restore), restore (an admin replaying an
--   export: removals and project limits are not checked), release (the events were held
--   and an operator releases them: each must still be held), dry_run (answer what the
--   append would do and write nothing: effects within the batch are tracked in Lua
--   tables), pending_ttl (s), retention_s (0: records kept), max_projects (per city),
--   max_held (per feed), place_tolerance (degrees: rounding, not a move), and events, one
--   object per event: id, city (absent for a tick), hash (of its canonical JSON), version
--   ('utc|event_id', only for a tick or a city upsert), tick_date (a tick only), op ('P'
--   project upsert, 'R' project removal, 'C' city upsert), op_arg (the project id, or the
--   city's identity 'name<US>country<US>region', <RS>, its place 'lat<US>lon<US>population'),
--   hold (the event type: hold it for review).
-- Then per event two raw strings, stored verbatim: its canonical JSON and (with hold) its
-- held entry's JSON ('' otherwise).
--
-- A held event is stored in the held hash and its feed's held set, its record (no expiry
-- while held) reads 'city|held|<ms held>|hash|feed|type|held'; it reaches no log, inbox or
-- score until released. An admin feed's accepted events and a release are an operator's
-- decision: they close the touched cities' review windows (the next scoped batch opens one
-- from there). A city's inbox holds two elements per event: '<log id> <feed>' (the log id's
-- milliseconds are the ack time) and the json. A submission record is one string
-- (submission.lua): one SET with its expiry, smaller than a hash.
--
-- Returns {one outcome letter per event, rebuild '1'/'0', {cities to enqueue}}.
-- The outcomes (shared/domain/outcome.py names the same letters):
local ACCEPTED = 'a'         -- stored (in the log and the city's inbox)
local DUPLICATE = 'd'        -- same id, same content, same feed: already stored
local ID_REUSED = 'r'        -- the id is taken by other content or another feed
local UNKNOWN_CITY = 'n'     -- the city does not exist (only admin feeds create cities)
local UNKNOWN_PROJECT = 'u'  -- removal of a project the city never had
local IDENTITY_CHANGE = 'i'  -- a non-admin change of the city's name, country or region
local PLACE_CHANGE = 'g'     -- a non-admin move beyond the tolerance or population change
local PROJECT_LIMIT = 'l'    -- the city's project limit is reached
local HELD = 'h'             -- held for review
local HELD_CAP = 'q'         -- the feed's held events are at their cap
local NOT_HELD = 'x'         -- a release of an event that is not held
-- include: submission.lua
local h = cjson.decode(ARGV[1])
local feed, admin, restore, dry = h.feed, h.admin, h.restore, h.dry_run
local ttl, retention, max_projects = h.pending_ttl, h.retention_s, h.max_projects
local max_held, held_count = h.max_held, nil
local tolerance = h.place_tolerance
local held_key = '${held_by_feed}' .. feed
local shadow_rec, shadow_member, shadow_card = {}, {}, {}  -- dry run: the batch's writes
local shadow_tick = nil
local suffix = ' ' .. feed
local status, order, touched = {}, {}, {}
local rebuild, city_events = '0', 0
local base = {}  -- per city: events consumed so far, to number each new event
local known = {}  -- per city: exists (for non-admin feeds)
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
  local a = {}
  for part in string.gmatch(stored .. '\31' .. place, '[^\31]+') do a[#a + 1] = tonumber(part) end
  if #a ~= 6 then return false end
  local dlon = math.abs(a[2] - a[5]) % 360
  dlon = math.min(dlon, 360 - dlon)
  return math.abs(a[1] - a[4]) <= tolerance and dlon <= tolerance and a[3] == a[6]
end
local released = {}  -- cities with a released event: their review windows close
for k, ev in ipairs(h.events) do
  local eid, city, hash = ev.id, ev.city or '', ev.hash
  local ver, tickdate, op, oparg = ev.version or '', ev.tick_date or '', ev.op or '', ev.op_arg or ''
  local body, held_json = ARGV[2 * k], ARGV[2 * k + 1]
  local key = '${event}' .. eid
  local verdict = nil
  local prev = shadow_rec[key] or redis.pcall('GET', key)
  if h.release then
    if type(prev) ~= 'string' or not submission(prev).held then verdict = NOT_HELD end
  elseif type(prev) == 'table' then
    verdict = DUPLICATE  -- a record of an older format (a hash): that id is taken
  elseif prev then
    local was = submission(prev)
    if was.hash == hash and was.feed == feed then verdict = DUPLICATE else verdict = ID_REUSED end
  elseif city ~= '' then
    if not admin then
      if known[city] == nil then
        known[city] = redis.call('SISMEMBER', '${CITIES}', city) == 1
      end
      if not known[city] then verdict = UNKNOWN_CITY end
    end
    if not verdict and op ~= '' then
      if op == 'R' then
        if restore then
          add_member('${city_projects}' .. city, oparg)
        elseif not is_member('${city_projects}' .. city, oparg) then
          verdict = UNKNOWN_PROJECT
        end
      elseif op == 'P' then
        local pkey = '${city_projects}' .. city
        if not is_member(pkey, oparg) then
          local card = redis.call('SCARD', pkey) + (shadow_card[pkey] or 0)
          if (not restore) and card >= max_projects then
            verdict = PROJECT_LIMIT
          else
            add_member(pkey, oparg)
          end
        end
      elseif op == 'C' then
        local ikey = '${city_identity}' .. city
        local cut = string.find(oparg, '\30', 1, true)
        local ident, place = string.sub(oparg, 1, cut - 1), string.sub(oparg, cut + 1)
        if admin then
          local cur = redis.call('HGET', ikey, 'v')
          if ((not cur) or cur < ver) and not dry then
            redis.call('HSET', ikey, 'v', ver, 'id', ident, 'place', place)
          end
        elseif redis.call('HGET', ikey, 'id') ~= ident then
          verdict = IDENTITY_CHANGE
        elseif not same_place(redis.call('HGET', ikey, 'place'), place) then
          verdict = PLACE_CHANGE
        end
      end
    end
  end
  if not verdict and ev.hold then
    held_count = held_count or redis.call('ZCARD', held_key)
    if held_count >= max_held then verdict = HELD_CAP else held_count = held_count + 1 end
  end
  if verdict then
    status[k] = verdict
  elseif dry then
    status[k] = ev.hold and HELD or ACCEPTED
    record(key, '|||' .. hash .. '|' .. feed)
    if city == '' then
      local cur = shadow_tick or redis.call('HGET', '${INDEX}', 'tick')
      if (not cur) or cur < ver then
        shadow_tick = ver
        rebuild = '1'
      end
    end
  elseif ev.hold then
    status[k] = HELD
    local t = redis.call('TIME')
    local held_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('SET', key, city .. '|held|' .. held_ms .. '|' .. hash .. '|' .. feed .. '|' ..
      ev.hold .. '|held')
    redis.call('HSET', '${HELD}', eid, held_json)
    redis.call('ZADD', '${HELD_SINCE}', held_ms, eid)
    redis.call('ZADD', held_key, held_ms, eid)
  else
    status[k] = ACCEPTED
    if h.release then
      redis.call('HDEL', '${HELD}', eid)
      redis.call('ZREM', '${HELD_SINCE}', eid)
      redis.call('ZREM', held_key, eid)
      released[city] = true
    end
    local sid = redis.call('XADD', '${LOG}', '*', 'e', body)
    if city ~= '' then
      if not base[city] then
        base[city] = tonumber(redis.call('GET', '${consumed}' .. city) or '0')
      end
      local len = redis.call('RPUSH', '${inbox}' .. city, sid .. suffix, body)
      -- position in the city's sequence: the event is scored once consumed >= it
      record(key, city .. '|' .. sid .. '|' .. (base[city] + len / 2) .. '|' .. hash .. '|' .. feed)
      city_events = city_events + 1
      if not touched[city] then
        touched[city] = true
        order[#order + 1] = city
      end
    else
      local cur = redis.call('HGET', '${INDEX}', 'tick')
      local tick_status = 'superseded'
      if (not cur) or cur < ver then
        redis.call('HSET', '${INDEX}', 'tick', ver, 'date', tickdate)
        tick_status = 'applied'
        rebuild = '1'
      end
      record(key, '|' .. sid .. '|0|' .. hash .. '|' .. feed .. '|' .. tick_status)
    end
  end
end
if dry then return {table.concat(status), rebuild, {}} end
if city_events > 0 then
  redis.call('INCRBY', '${BACKLOG}', city_events)
  redis.call('INCRBY', '${feed_backlog}' .. feed, city_events)
end
-- One SADD per set for the whole batch (in chunks within Lua's unpack limit), not per city.
for s = 1, #order, 1000 do
  local chunk = {unpack(order, s, math.min(s + 999, #order))}
  redis.call('SADD', '${CITIES}', unpack(chunk))
  redis.call('SADD', '${DIRTY}', unpack(chunk))
end
if rebuild == '1' then
  redis.call('SUNIONSTORE', '${DIRTY}', '${DIRTY}', '${CITIES}')
end
local enqueue = {}
for _, city in ipairs(order) do
  if admin or released[city] then redis.call('DEL', '${review_baseline}' .. city) end
  if redis.call('SET', '${pending}' .. city, '1', 'NX', 'EX', ttl) then
    enqueue[#enqueue + 1] = city
  end
end
return {table.concat(status), rebuild, enqueue}

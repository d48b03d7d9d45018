-- Reject held events. ARGV: 1 retention seconds (0: records kept), 2 reason, then event ids.
-- Each still held gets its record marked 'rejected' with the reason and leaves the held
-- sets; returns, per id, its held entry's JSON or '' (not held: released, rejected or
-- unknown).
-- include: submission.lua
local retention, reason = tonumber(ARGV[1]), ARGV[2]
local out = {}
for a = 3, #ARGV do
  local eid = ARGV[a]
  local key = '${event}' .. eid
  local entry = redis.call('HGET', '${HELD}', eid)
  local rec = redis.pcall('GET', key)
  local was = type(rec) == 'string' and submission(rec)
  if entry and was and was.held then
    local value = string.sub(rec, 1, -5) .. 'rejected|' .. reason
    if retention > 0 then
      redis.call('SET', key, value, 'EX', retention)
    else
      redis.call('SET', key, value)
    end
    redis.call('HDEL', '${HELD}', eid)
    redis.call('ZREM', '${HELD_SINCE}', eid)
    redis.call('ZREM', '${held_by_feed}' .. was.feed, eid)
    out[#out + 1] = entry
  else
    out[#out + 1] = ''
  end
end
return out

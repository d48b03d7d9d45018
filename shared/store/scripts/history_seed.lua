-- Give each city without history one entry at the current ranking version (stamped now if
-- that version has no time yet); return how many were seeded.
-- ARGV: (city, entry) pairs; each entry is a complete JSON object without the members only
-- this script knows (v, t, r), which it puts first.
-- include: entry.lua
local ver = tonumber(redis.call('HGET', '${INDEX}', 'version') or '0')
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('ZCOUNT', '${VERSIONS}', ver, ver) == 0 then
  redis.call('ZADD', '${VERSIONS}', ver, ver .. ':' .. t)
end
local rank_key = '${RANK_OVERALL}'
local seeded = 0
for a = 1, #ARGV, 2 do
  local key = '${city_history}' .. ARGV[a]
  if redis.call('EXISTS', key) == 0 then
    local score = redis.call('ZSCORE', rank_key, ARGV[a])
    local rank = 'null'
    if score then rank = tostring(redis.call('ZCOUNT', rank_key, '(' .. score, '+inf') + 1) end
    redis.call('ZADD', key, ver, with_head('"v":' .. ver .. ',"t":' .. t .. ',"r":' .. rank,
                                           ARGV[a + 1]))
    seeded = seeded + 1
  end
end
return seeded

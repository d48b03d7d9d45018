-- Each city's last history entry at or before a version, without its indicator changes:
-- flat {city, entry, ...} for cities with one. Called per batch of cities, so a large
-- index never holds Redis for long. ARGV: 1 version, then cities.
local out = {}
for a = 2, #ARGV do
  local city = ARGV[a]
  local got = redis.call('ZREVRANGEBYSCORE', '${city_history}' .. city, ARGV[1], '-inf',
                         'LIMIT', 0, 1)
  if got[1] then
    local entry = got[1]
    local x = string.find(entry, ',"x":', 1, true)  -- the changes come last: not needed here
    if x then entry = string.sub(entry, 1, x - 1) .. '}' end
    out[#out + 1] = city; out[#out + 1] = entry
  end
end
return out

-- Each city's overall score in its last history entry at or before a version, as stored
-- (text, never decoded here: 'null' when unranked), and that entry's version:
-- flat {city, score, entry version, ...}. ARGV: 1 version, then cities.
local out = {}
for a = 2, #ARGV do
  local got = redis.call('ZREVRANGEBYSCORE', '${city_history}' .. ARGV[a], ARGV[1], '-inf',
                         'WITHSCORES', 'LIMIT', 0, 1)
  if got[1] then
    out[#out + 1] = ARGV[a]; out[#out + 1] = string.match(got[1], ',"s":([^,}]*)')
    out[#out + 1] = got[2]
  end
end
return out

-- Drop each city's history entries before its last one at or before the cut version (that
-- one is still the city's state at every later moment); return how many were removed.
-- ARGV: 1 cut version, then cities.
local removed = 0
for a = 2, #ARGV do
  local key = '${city_history}' .. ARGV[a]
  local got = redis.call('ZREVRANGEBYSCORE', key, ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if got[2] then removed = removed + redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. got[2]) end
end
return removed

-- The last kept version committed at or before an instant, as 'v:t' (or false): a binary
-- search over the versions sorted set (versions and times grow together).
-- ARGV: 1 instant (ms).
local n = redis.call('ZCARD', '${VERSIONS}')
local lo, hi, found = 0, n - 1, false
local at = tonumber(ARGV[1])
while lo <= hi do
  local mid = math.floor((lo + hi) / 2)
  local m = redis.call('ZRANGE', '${VERSIONS}', mid, mid)[1]
  local t = tonumber(string.match(m, ':(%d+)$'))
  if t <= at then found = m; lo = mid + 1 else hi = mid - 1 end
end
return found

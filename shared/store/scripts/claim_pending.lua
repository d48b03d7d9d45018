-- Set the pending flag of cities where it is absent; return those cities (to be enqueued).
-- ARGV: 1 pending ttl (seconds), then cities.
local out = {}
for i = 2, #ARGV do
  if redis.call('SET', '${pending}' .. ARGV[i], '1', 'NX', 'EX', tonumber(ARGV[1])) then
    out[#out + 1] = ARGV[i]
  end
end
return out

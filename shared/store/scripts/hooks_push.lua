-- Push deliveries onto hooks' bounded queues (no cursor: dead letters come from commits).
-- ARGV: 1 queue max, then (hook id, delivery JSON) pairs.
local max = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local q = '${hook_queue}' .. ARGV[i]
  local len = redis.call('RPUSH', q, ARGV[i + 1])
  if len > max then
    redis.call('LTRIM', q, len - max, -1)
    redis.call('INCRBY', '${hook_dropped}' .. ARGV[i], len - max)
  end
end
return 1

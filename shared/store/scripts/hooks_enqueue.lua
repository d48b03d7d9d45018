-- Hand the dispatcher's batch to the hooks' queues, only if nobody moved the cursor first
-- (two dispatchers never enqueue one change twice). ARGV: 1 cursor read, 2 new cursor,
-- 3 queue max, then (hook id, delivery JSON) pairs. Returns the hook ids that got work.
local cur = redis.call('GET', '${HOOKS_CURSOR}') or '0-0'
if cur ~= ARGV[1] then return false end
redis.call('SET', '${HOOKS_CURSOR}', ARGV[2])
local max, touched, seen = tonumber(ARGV[3]), {}, {}
for i = 4, #ARGV, 2 do
  local hook = ARGV[i]
  local q = '${hook_queue}' .. hook
  local len = redis.call('RPUSH', q, ARGV[i + 1])
  if len > max then
    redis.call('LTRIM', q, len - max, -1)
    redis.call('INCRBY', '${hook_dropped}' .. hook, len - max)
  end
  if not seen[hook] then seen[hook] = true; touched[#touched + 1] = hook end
end
return touched

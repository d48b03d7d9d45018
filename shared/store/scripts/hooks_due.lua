-- Move due retries back to the front of their (still enabled) hooks' queues; return the
-- hooks that got work. ARGV: 1 now (ms). Only the hook id and the enabled flag are decoded
-- (cjson); the delivery JSON is moved as stored.
local due = redis.call('ZRANGEBYSCORE', '${HOOKS_RETRY}', '-inf', ARGV[1], 'LIMIT', 0, 1000)
local touched, seen = {}, {}
for _, item in ipairs(due) do
  redis.call('ZREM', '${HOOKS_RETRY}', item)
  local hook = cjson.decode(item)['hook']
  local raw = redis.call('HGET', '${HOOKS}', hook)
  if raw and cjson.decode(raw)['enabled'] then  -- deleted or disabled since: dropped
    redis.call('LPUSH', '${hook_queue}' .. hook, item)
    if not seen[hook] then seen[hook] = true; touched[#touched + 1] = hook end
  end
end
return touched

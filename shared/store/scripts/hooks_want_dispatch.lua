-- Set the dispatch flag if any hook exists: 1 means "send a dispatch message".
-- ARGV: 1 debounce (ms).
if redis.call('HLEN', '${HOOKS}') == 0 then return 0 end
if redis.call('SET', '${HOOKS_DISPATCH}', '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0

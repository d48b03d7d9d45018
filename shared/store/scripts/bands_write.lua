-- Publish rank bands unless newer ones are already stored (the newest version wins).
-- ARGV: 1 ranking version the bands were computed for, 2 the bands' JSON (stored verbatim).
-- Also records the version in the index hash (field 'bands'), so readers' caches and HTTP
-- tags move when the bands do. Returns 1 if written, 0 if older than the stored bands.
local cur = tonumber(redis.call('HGET', '${INDEX}', 'bands') or '-1')
if tonumber(ARGV[1]) < cur then return 0 end
redis.call('SET', '${BANDS}', ARGV[2])
redis.call('HSET', '${INDEX}', 'bands', ARGV[1])
return 1

-- Take events from a feed's token bucket; return the milliseconds to wait before that many
-- events would fit ('0': taken now). ARGV: key, rate (events/s), burst, events wanted,
-- now (ms).
local key, rate, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local want, now = math.min(tonumber(ARGV[4]), burst), tonumber(ARGV[5])
local v = redis.call('HMGET', key, 't', 'ts')
local tokens, ts = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if want > tokens then
  wait = math.ceil((want - tokens) * 1000 / rate)
else
  tokens = tokens - want
end
redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return tostring(wait)

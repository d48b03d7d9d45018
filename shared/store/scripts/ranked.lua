-- Read a ranking whole at one instant, so a row's card, score and rank agree.
-- KEYS[1]: a ranking sorted set. Returns {ranking version, flat (city, score) pairs best
-- first, each city's card}. Cards are fetched in chunks within Lua's unpack limit.
local version = redis.call('HGET', '${INDEX}', 'version') or '0'
local flat = redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local cards = {}
for s = 1, #flat, 2000 do
  local names = {}
  for i = s, math.min(s + 1999, #flat), 2 do
    names[#names + 1] = '${city_card}' .. flat[i]
  end
  local got = redis.call('MGET', unpack(names))
  for j = 1, #names do cards[#cards + 1] = got[j] end
end
return {version, flat, cards}

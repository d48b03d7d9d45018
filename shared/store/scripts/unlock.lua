-- Release the locks a token still holds (another holder's lock is left alone).
-- ARGV: 1 token, then lock keys. Returns how many locks were released.
local released = 0
for a = 2, #ARGV do
  if redis.call('GET', ARGV[a]) == ARGV[1] then released = released + redis.call('DEL', ARGV[a]) end
end
return released

-- Mark every city dirty (a full rebuild); return how many are dirty.
redis.call('SUNIONSTORE', '${DIRTY}', '${DIRTY}', '${CITIES}')
return redis.call('SCARD', '${DIRTY}')

-- A submission record (shared/domain/submission.py), one string per event id:
-- 'city|log id|position|content hash|feed', then a tail: none (accepted), '|applied' or
-- '|superseded' (a tick), '|failed|<reason>' (dead-lettered); held for review:
-- 'city|held|<ms held>|hash|feed|<event type>|held', then '...|rejected|<reason>'.
-- Returns its fields (nil ones when the record has fewer than five) and whether it is held.
local function submission(rec)
  local city, log_id, position, hash, feed =
    string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)')
  return {city = city, log_id = log_id, position = position, hash = hash, feed = feed,
          held = string.sub(rec, -5) == '|held'}
end

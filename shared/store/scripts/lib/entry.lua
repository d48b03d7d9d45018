-- Put members only a script knows (e.g. '"v":3,"t":17') first in a complete JSON object
-- that Python built, leaving the object's own text untouched (its scores never pass
-- through cjson, which keeps 14 significant digits).
local function with_head(head, object)
  if object == '{}' then return '{' .. head .. '}' end
  return '{' .. head .. ',' .. string.sub(object, 2)
end

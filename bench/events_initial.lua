-- wrk: POST /initial with a fresh uuid and a symbol drawn from an English text,
-- as the service's clients open.
--   wrk -t2 -c32 -d10s -s bench/events_initial.lua http://127.0.0.1:8000
local letters = ("itwasthebestoftimesitwastheworstoftimesitwastheageofwisdomitwasthe" ..
  "ageoffoolishnessitwastheepochofbeliefitwastheepochofincredulityitwastheseasonof" ..
  "lightitwastheseasonofdarknessitwasthespringofhopeitwasthewinterofdespair")
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end

init = function(args)
  math.randomseed(id * 7919 + os.time())
end

local function hex(digits)
  local out = {}
  for i = 1, digits do out[i] = string.format("%x", math.random(0, 15)) end
  return table.concat(out)
end

request = function()
  local at = math.random(1, #letters)
  local uuid = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
  return wrk.format("POST", "/initial?uuid=" .. uuid .. "&symbol=" .. letters:sub(at, at))
end

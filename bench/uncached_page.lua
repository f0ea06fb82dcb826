-- wrk: page 7 of the 10,000 tasks, never from the page cache. The cache is keyed by the
-- request target, and the API refuses parameters a route does not take, so each request
-- spells the same query differently: every letter and digit of "page=7&pageSize=20"
-- written as itself or percent-encoded, by the bits of a counter (32,768 spellings, each
-- thread starting elsewhere; the cache keeps 64 answers). api_load.sh prints the cache's
-- hits and misses to show it.
local query = "page=7&pageSize=20"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local n = 0
request = function()
  n = n + 1
  local bits = (n * 7 + id * 4099) % 32768
  local out, bit = {}, 0
  for c in query:gmatch(".") do
    if c:match("%w") then
      if math.floor(bits / 2 ^ bit) % 2 == 1 then
        out[#out + 1] = string.format("%%%02X", c:byte())
      else
        out[#out + 1] = c
      end
      bit = bit + 1
    else
      out[#out + 1] = c
    end
  end
  return wrk.format("GET", "/api/scheduler/tasks?" .. table.concat(out))
end

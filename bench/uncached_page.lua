-- wrk: page 7 of the 10,000 tasks, each request with a query parameter of its own (the
-- API ignores it), so that none is answered from the page cache.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/scheduler/tasks?page=7&pageSize=20&n=" .. id .. "-" .. n)
end

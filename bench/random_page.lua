-- wrk: each request asks for a random page of the 10,000 tasks (20 per page), so that
-- most are built from the store rather than answered from the page cache.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init()
  math.randomseed(os.time() * 100 + id)
end

request = function()
  return wrk.format("GET", "/api/scheduler/tasks?page=" .. math.random(1, 500) .. "&pageSize=20")
end

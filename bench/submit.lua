-- wrk script: petition submissions, each with its own Idempotency-Key.
-- Set TOKEN and BODY in the environment (bench/petitions.sh does).
local threads = 0

-- Each thread gets its own number, so keys never collide across threads.
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = "bench-" .. tid .. "-" .. os.time() .. "-"
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.body = os.getenv("BODY")
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  return wrk.format(nil, "/api/v1/petitions")
end

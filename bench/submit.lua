-- wrk script: petition submissions, each with its own Idempotency-Key, spread over many
-- citizens the way real traffic is (one citizen submitting thousands would make every
-- submission a repeat of the last fifty).
-- Set TOKENS_FILE (a file of space-separated bearer tokens) and BODY in the environment
-- (bench/petitions.sh and bench/messaging.sh do).
local threads = 0

-- Each thread gets its own number, so keys never collide across threads.
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  prefix = "bench-" .. tid .. "-" .. os.time() .. "-"
  counter = 0
  tokens = {}
  local file = assert(io.open(os.getenv("TOKENS_FILE")))
  local all = file:read("*a")
  file:close()
  for t in string.gmatch(all, "%S+") do
    tokens[#tokens + 1] = t
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = os.getenv("BODY")
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. counter
  wrk.headers["Authorization"] = "Bearer " .. tokens[(counter + tid) % #tokens + 1]
  return wrk.format(nil, "/api/v1/petitions")
end

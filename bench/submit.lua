-- wrk script: petition submissions, each with its own Idempotency-Key.
-- Set TOKEN and BODY in the environment (bench/petitions.sh does).
local counter = 0
local thread_id = math.random(1, 1000000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = os.getenv("BODY")

request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "bench-" .. thread_id .. "-" .. counter
  return wrk.format(nil, "/api/v1/petitions")
end

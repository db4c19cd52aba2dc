-- SPDX-License-Identifier: MIT
-- pool.lua: wrk script that sends each pre-signed request of a pool file (bench/pool.c: one
-- request per line, TARGET<TAB>AUTHORIZATION<TAB>BODY, then <TAB>METHOD when it is not POST)
-- exactly once. Environment:
--   WXP_POOL         the pool file (required)
--   WXP_POOL_OFFSET  first line to use, 0-based (default 0)
--   WXP_POOL_COUNT   lines to use from there (default: all the rest)
--   WXP_POOL_CYCLE   "1": start over at the end of the slice (only with --no-replay-check)
--   WXP_POOL_LIMIT   stop after this many requests in all (0: no limit; the soak run)
--   WXP_THREADS      wrk's -t value (the script cannot read it otherwise)
--   WXP_EXPECT       the status every answer should have (default 204; 200 for a query pool)
-- The slice is split evenly between wrk's threads. A thread that reaches the end of its share
-- stops (a request sent twice would be a replay). done() prints one machine-readable line:
--   WXP_RESULT sent=.. responses=.. rps=.. p50_us=.. p99_us=.. non204=.. statuses=.. exhausted=..
--              socket_errors=.. duration_us=.. unexpected=..
-- where non204 counts the answers that are not 204, statuses lists them by status, and
-- unexpected counts the answers that are not WXP_EXPECT (= non204 when it is 204).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function env_int(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return tonumber(v)
end

function init(args)
  -- Only the parameters here: wrk runs every thread's init() on its main thread, one after the
  -- other, while the threads already created are sending, and starts its clock after the last
  -- one. Loading a large share here let the first thread run for seconds before the clock
  -- started, which overstated the rate (70 k/s reported for a server measured at 27 k/s). The
  -- share is loaded by the thread itself, on its first request(), inside the timed window.
  nthreads = env_int("WXP_THREADS", 1)
  offset = env_int("WXP_POOL_OFFSET", 0)
  count = env_int("WXP_POOL_COUNT", -1)
  cycle = os.getenv("WXP_POOL_CYCLE") == "1"
  limit = env_int("WXP_POOL_LIMIT", 0)
  expect = env_int("WXP_EXPECT", 204)
  path = os.getenv("WXP_POOL")
  assert(path, "WXP_POOL is not set")
  reqs = nil
  next_req = 1
  sent = 0
  responses = 0
  n204 = 0
  nexpected = 0
  statuses = {}
  exhausted = 0
  my_limit = 0
end

local function load_share()
  if count < 0 then
    count = -offset
    for _ in io.lines(path) do count = count + 1 end
  end
  local first = offset + math.floor(count * id / nthreads)
  local last = offset + math.floor(count * (id + 1) / nthreads)

  -- Keep only this thread's share, already formatted: request() then costs a table lookup.
  reqs = {}
  local i = 0
  for line in io.lines(path) do
    i = i + 1
    if i > last then break end
    if i > first then
      local p, a, b, m = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t?([A-Z]*)$")
      if m == "" then m = "POST" end
      local h = {
        ["Authorization"] = a,
        ["Accept"] = "application/json",
        ["User-Agent"] = "wrk-wxp-bench",
      }
      if b ~= "" or m == "POST" then
        h["Content-Type"] = "application/json"
        reqs[#reqs + 1] = wrk.format(m, p, h, b)
      else
        reqs[#reqs + 1] = wrk.format(m, p, h)
      end
    end
  end
  nreqs = #reqs
  my_limit = limit > 0 and math.floor(limit / nthreads) or 0
end

function request()
  if reqs == nil then load_share() end
  if next_req > nreqs then
    if cycle and nreqs > 0 then
      next_req = 1
    else
      -- Nothing left to send once: stop this thread (wrk sends one more, that is never read).
      exhausted = 1
      wrk.thread:stop()
      return reqs[nreqs] or wrk.format("GET", "/")
    end
  end
  local r = reqs[next_req]
  next_req = next_req + 1
  sent = sent + 1
  return r
end

function response(status, headers, body)
  responses = responses + 1
  if status == expect then
    nexpected = nexpected + 1
  end
  if status == 204 then
    n204 = n204 + 1
  else
    statuses[status] = (statuses[status] or 0) + 1
  end
  if my_limit > 0 and responses >= my_limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_sent, total_resp, total_204, any_exhausted, total_expected = 0, 0, 0, 0, 0
  local merged = {}
  for _, t in ipairs(threads) do
    total_sent = total_sent + t:get("sent")
    total_resp = total_resp + t:get("responses")
    total_204 = total_204 + t:get("n204")
    total_expected = total_expected + t:get("nexpected")
    if t:get("exhausted") == 1 then any_exhausted = 1 end
    local st = t:get("statuses")
    for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = k .. ":" .. v end
  local st = #parts > 0 and table.concat(parts, ",") or "-"
  local e = summary.errors
  io.write(string.format(
    "WXP_RESULT sent=%d responses=%d rps=%.1f p50_us=%d p99_us=%d non204=%d statuses=%s " ..
    "exhausted=%d socket_errors=%d duration_us=%d unexpected=%d\n",
    total_sent, total_resp, summary.requests / summary.duration * 1e6,
    latency:percentile(50), latency:percentile(99), total_resp - total_204, st,
    any_exhausted, e.connect + e.read + e.write + e.timeout, summary.duration,
    total_resp - total_expected))
end

-- wrk script: lockd acquire -> release cycle, the same cycle lockbench runs.
--   POST   /locks/<name> {"ttl_ms":30000,"wait_ms":W}  -> 201 {"token":...}
--   DELETE /locks/<name>  Lock-Token: <token>            -> 204
--
-- Like shared/anchors/etcd-lock-cycle.lua this needs exactly ONE connection
-- per wrk thread (wrk -tN -cN): wrk's response() does not say which of a
-- thread's connections answered, so per-thread state must be per-connection
-- state.  done() reports max_outstanding, which must be 1.
--
-- Args (after the URL):  NAMES THREADS [PREFIX] [WAIT_MS]
--   NAMES >= THREADS: thread t uses names n with n % THREADS == t (uncontended)
--   NAMES <  THREADS: every cycle picks a random one of the NAMES (contended)
-- done() prints "RESULT k=v" lines.

local threads, thread_count = {}, 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local NAMES, NTHREADS, PREFIX, BODY
local step, token
local sent, seen = 0, 0
cycles, errors, max_outstanding = 0, 0, 0

function init(args)
  local a, j = {}, 1
  for i = 1, #args do if args[i] ~= "--" then a[j] = args[i]; j = j + 1 end end
  NAMES = tonumber(a[1] or "1000")
  NTHREADS = tonumber(a[2] or "1")
  PREFIX = a[3] or "wrk"
  BODY = '{"ttl_ms":30000,"wait_ms":' .. (a[4] or "0") .. '}'
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  step = "acquire"
end

local function pick()
  if NAMES >= NTHREADS then
    local per = math.floor((NAMES - 1 - tid) / NTHREADS) + 1
    return tid + NTHREADS * math.random(0, per - 1)
  end
  return math.random(0, NAMES - 1)
end

-- Each name's two requests are formatted once, on its first cycle, the
-- release's split around the token: request() returns a kept string or
-- joins three, and response() finds the token with plain searches. wrk's
-- own CPU shares the two cores with lockd and Redis (cpu.sh's "cores
-- busy"): a wrk.format and a pattern match a request cost wrk ~5 µs of CPU
-- a request (half its user time), which lowered the cycle's rate whatever
-- lockd did. The bytes sent are the same.
local ACQUIRE, RELEASE_HEAD, RELEASE_TAIL = {}, {}, {}
local function prepare(n)
  if ACQUIRE[n] then return end
  local path = "/locks/" .. PREFIX .. ":" .. n
  ACQUIRE[n] = wrk.format("POST", path, { ["Content-Type"] = "application/json" }, BODY)
  local template = wrk.format("DELETE", path, { ["Lock-Token"] = "@TOKEN@" })
  RELEASE_HEAD[n], RELEASE_TAIL[n] = template:match("^(.*)@TOKEN@(.*)$")
end

local current
function request()
  local outstanding = sent - seen
  if outstanding > max_outstanding then max_outstanding = outstanding end
  sent = sent + 1
  if step == "acquire" then
    current = pick()
    prepare(current)
    return ACQUIRE[current]
  end
  return RELEASE_HEAD[current] .. token .. RELEASE_TAIL[current]
end

local find, sub = string.find, string.sub
function response(status, headers, body)
  seen = seen + 1
  if step == "acquire" then
    token = nil
    if status == 201 then
      local _, e = find(body, '"token":"', 1, true)
      if e then
        local close = find(body, '"', e + 1, true)
        if close and close > e + 1 then token = sub(body, e + 1, close - 1) end
      end
    end
    if token then step = "release" else errors = errors + 1 end
  else
    if status == 204 then cycles = cycles + 1 else errors = errors + 1 end
    step = "acquire"
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local c, e, maxo = 0, 0, 0
  for _, th in ipairs(threads) do
    c = c + (th:get("cycles") or 0)
    e = e + (th:get("errors") or 0)
    maxo = math.max(maxo, th:get("max_outstanding") or 0)
  end
  print(string.format("RESULT threads=%d duration_s=%.2f cycles=%d cycles_per_s=%.1f http_req_per_s=%.1f errors=%d socket_errors=%d max_outstanding=%d valid=%s",
    #threads, secs, c, c / secs, summary.requests / secs, e,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    maxo, tostring(maxo <= 1)))
end

-- POST /locks/<fresh name> {"ttl_ms":1000}: each thread's names are its
-- number, a random number drawn once, and a counter, so no name comes twice
-- in a run and every POST is answered 201. The request is formatted once, in
-- init(), and split around the name: request() only joins three strings —
-- a wrk.format per request cost wrk ~1 µs more CPU per request than
-- nginx's pre-built fixed POST, on the two cores lockd runs on (CPU.md).
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local head, tail, counter
function init(args)
  local template = wrk.format("POST", "/locks/NAME", { ["Content-Type"] = "application/json" }, '{"ttl_ms":1000}')
  head, tail = template:match("^(.-)NAME(.*)$")
  head = head .. "r" .. tid .. "-" .. math.random(1, 1e9) .. "-"
  counter = 0
end
function request()
  counter = counter + 1
  return head .. counter .. tail
end

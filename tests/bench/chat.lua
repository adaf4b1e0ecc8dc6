-- chat.lua: wrk script for tests/bench/bench.sh.
-- Every request is the same small non-streaming chat completion (or the same
-- GET, with BENCH_GET). At the end it prints one machine-readable line that
-- bench.sh parses:
--   BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N
--         non2xx=N connect_err=N read_err=N write_err=N timeout_err=N
--
-- Environment (read by wrk's Lua, not by the server):
--   BENCH_MODEL  model name in the body (default "mock-model")
--   BENCH_AUTH   if set, sent as "Authorization: Bearer <value>" (paid path)
--   BENCH_GET    if set, every request is "GET <value>" without a body
--                instead of the chat (the /health floor row)

local model = os.getenv("BENCH_MODEL") or "mock-model"
local auth = os.getenv("BENCH_AUTH")
local get = os.getenv("BENCH_GET")

if auth ~= nil and auth ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. auth
end
if get ~= nil and get ~= "" then
	wrk.method = "GET"
	wrk.path = get
else
	wrk.method = "POST"
	wrk.path = "/v1/chat/completions"
	wrk.headers["Content-Type"] = "application/json"
	-- The model name goes in as-is: it comes from the bench's own environment.
	wrk.body = '{"model":"' .. model .. '","messages":[' ..
		'{"role":"system","content":"You are a terse assistant."},' ..
		'{"role":"user","content":"Say hello in five words."}],' ..
		'"max_tokens":16}'
end

function done(summary, latency, requests)
	local dur = summary.duration
	local rps = 0
	if dur > 0 then
		rps = summary.requests / (dur / 1000000)
	end
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d " ..
		"p99_us=%d max_us=%d non2xx=%d connect_err=%d read_err=%d " ..
		"write_err=%d timeout_err=%d\n",
		summary.requests, dur, rps,
		latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max,
		e.status, e.connect, e.read, e.write, e.timeout))
end

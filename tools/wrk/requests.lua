-- wrk script of `ledger bench http-command|http-query` (crates/ledger/src/bench/wrk.rs).
--
-- With BENCH_REQUESTS naming a file of pre-generated raw HTTP requests (one a line, each CR LF
-- written as byte 0x01), each wrk thread sends every BENCH_THREADS-th request of the file, in
-- order, so no request repeats while the file lasts (unique commands); `wrapped` counts the
-- times a thread ran out and started over. Without it wrk sends its one static request (the
-- /healthz baseline), so the baseline pays no Lua per request.
--
-- done() prints one line `BENCH {json}` the bench parses: requests, duration, errors and the
-- latency percentiles in microseconds.

local threads = {}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end

local file = os.getenv("BENCH_REQUESTS")

if file then
  function init(args)
    local every = tonumber(os.getenv("BENCH_THREADS") or "1")
    requests = {}
    local i = 0
    for line in io.lines(file) do
      if i % every == id then
        requests[#requests + 1] = (line:gsub("\1", "\r\n"))
      end
      i = i + 1
    end
    cursor = 1
    wrapped = 0
  end

  function request()
    local r = requests[cursor]
    cursor = cursor + 1
    if cursor > #requests then
      cursor = 1
      wrapped = wrapped + 1
    end
    return r
  end
end

function done(summary, latency, requests)
  local wrapped = 0
  for _, t in ipairs(threads) do
    wrapped = wrapped + (t:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, wrapped))
end

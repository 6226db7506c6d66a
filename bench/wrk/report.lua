-- Shared by the wrk scripts of `npm run bench` (bench/bench.ts): a monotonic clock, the option
-- parser, and the `done` hook that prints one machine-readable line the harness parses
-- (bench/lib/wrk.ts). wrk runs `done` in its main Lua state, so per-thread counters are read with
-- thread:get() from the threads `setup` collected (wrk's SCRIPTING, "setup" and "done").
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

-- Arguments after `--` are key=value pairs.
function parse_options(args)
  local options = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key == nil then error("bench: argument is not key=value: " .. arg) end
    options[key] = value
  end
  return options
end

-- Lines [from, from + count) of a file (1-based), e.g. one token per line.
function read_lines(path, from, count)
  local lines, index = {}, 0
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    index = index + 1
    if index >= from and (count == nil or index < from + count) and line ~= "" then
      lines[#lines + 1] = line
    end
  end
  file:close()
  if #lines == 0 then error("bench: no lines taken from " .. path) end
  return lines
end

-- wrk calls request() once in each thread's state before the run, only to parse what it returns
-- (script_verify_request in wrk.c, to count pipelined requests); nothing is sent. The scripts
-- answer that call with this and start their rotation with the next one.
verified = false
function verification_request(path)
  verified = true
  return wrk.format("GET", path)
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

local function thread_number(thread, name)
  local value = thread:get(name)
  if type(value) == "number" then return value end
  return 0
end

-- One line: BENCH_RESULT {json}. Latency in microseconds from wrk's own histogram.
function done(summary, latency, requests)
  local counters = { bad_status = 0, bad_cache = 0, responses = 0, exhausted = 0, pods = 0 }
  local first_us, last_us = nil, 0
  local pod_latencies = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(counters) do counters[name] = counters[name] + thread_number(thread, name) end
    local first = thread:get("first_us")
    if type(first) == "number" and (first_us == nil or first < first_us) then first_us = first end
    local last = thread:get("last_us")
    if type(last) == "number" and last > last_us then last_us = last end
    local pods = thread:get("pod_latencies")
    if type(pods) == "table" then
      for _, value in ipairs(pods) do pod_latencies[#pod_latencies + 1] = value end
    end
  end
  table.sort(pod_latencies)
  local pod_p50 = -1
  if #pod_latencies > 0 then pod_p50 = pod_latencies[math.max(1, math.ceil(#pod_latencies * 0.5))] end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"bad_status":%d,"bad_cache":%d,"responses":%d,' ..
    '"exhausted":%d,"pods":%d,"pod_p50_us":%.1f,"active_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), counters.bad_status, counters.bad_cache,
    counters.responses, counters.exhausted, counters.pods, pod_p50,
    (first_us ~= nil and last_us > first_us) and (last_us - first_us) or -1))
end

-- wrk script of `make load-test` (benchmarks/load_test.py): POST /v1/classify round-robin over a mix of single
-- sentences, 20-sentence articles and batches. The bodies are files in $STANCE_LOAD_DIR, listed in mix.txt as
-- "<kind> <file>" lines. Each thread counts non-200 answers and the X-Model-Version of every answer; done()
-- prints one line, "LOADTEST {json}", for the Python side to read.

local dir = os.getenv("STANCE_LOAD_DIR")
local requests = {}
local position = 0
local threads = {}

failures = 0
statuses = {}
versions = {}
id = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(dir .. "/mix.txt") do
    local kind, file = line:match("^(%S+)%s+(%S+)$")
    local handle = assert(io.open(dir .. "/" .. file, "rb"))
    local body = handle:read("*a")
    handle:close()
    table.insert(requests, wrk.format("POST", "/v1/classify", { ["Content-Type"] = "application/json" }, body))
  end
  position = (id * 7) % #requests -- threads start at different places of the mix
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
  local version = headers["x-model-version"] or headers["X-Model-Version"] or "none"
  versions[version] = (versions[version] or 0) + 1
end

local function object(counts)
  local parts = {}
  for key, count in pairs(counts) do
    table.insert(parts, string.format("%q:%d", key, count))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local total_failures, all_statuses, all_versions = 0, {}, {}
  for _, thread in ipairs(threads) do
    total_failures = total_failures + thread:get("failures")
    for key, count in pairs(thread:get("statuses")) do
      all_statuses[key] = (all_statuses[key] or 0) + count
    end
    for key, count in pairs(thread:get("versions")) do
      all_versions[key] = (all_versions[key] or 0) + count
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'LOADTEST {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p95":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
      '"failures":%d,"statuses":%s,"versions":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    total_failures, object(all_statuses), object(all_versions)
  ))
end

-- wrk script for POST /search: cycles through the queries in WRK_QUERIES (a JSON list in a file),
-- one model, k from WRK_K. Used by bench_service_batching.py (a C client: wrk does not eat the cores
-- a Python load generator would).
local model = os.getenv("WRK_MODEL") or "minilm"
local k = os.getenv("WRK_K") or "10"
local queries = {}
for line in io.lines(os.getenv("WRK_QUERIES")) do
  queries[#queries + 1] = line
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #queries + 1
  return wrk.format(nil, "/search", nil,
    '{"model": "' .. model .. '", "k": ' .. k .. ', "query": ' .. queries[i] .. '}')
end

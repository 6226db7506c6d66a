-- GET `path` with a Bearer token per request, taken in turn from a file of tokens (one a line).
-- Options (after `--`): path=…, tokens=FILE, from=N (1-based), count=N, once=1 (each token once:
-- the thread stops when they run out, and the harness then counts time until the last answer),
-- cache=hit|miss (every answer's X-Cache must say so). Every answer must be 200.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "report.lua")

function init(args)
  local options = parse_options(args)
  path = options.path
  tokens = read_lines(options.tokens, tonumber(options.from or "1"), tonumber(options.count))
  once = options.once == "1"
  expected_cache = options.cache
  cursor, responses, bad_status, bad_cache, exhausted = 0, 0, 0, 0, 0
  first_us, last_us = nil, 0
end

function request()
  if not verified then return verification_request(path) end
  if first_us == nil then first_us = now_us() end
  if cursor >= #tokens then
    if once then
      -- Ran out: stop the thread. wrk still sends what this returns, but its event loop ends
      -- before the answer is read, so it is never counted; it carries no token, so no token is
      -- ever sent twice (the server sees a 401 nobody reads).
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", path)
    end
    cursor = 0
  end
  cursor = cursor + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[cursor] })
end

function response(status, headers, body)
  last_us = now_us()
  responses = responses + 1
  if status ~= 200 then bad_status = bad_status + 1 end
  if expected_cache ~= nil then
    local cache = headers["x-cache"] or headers["X-Cache"]
    if cache ~= expected_cache then bad_cache = bad_cache + 1 end
  end
end

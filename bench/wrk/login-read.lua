-- A pod without the broker: log in to OpenBao with its ServiceAccount token
-- (POST /v1/auth/<mount>/login {role, jwt}) and read the secret with the Vault token it got
-- (GET /v1/<path>), two requests per pod. wrk does not say which connection an answer came
-- on, so a login's token goes to a queue and the next request a connection sends is a read
-- with it; with one connection that is exactly login, read, login, read…, and pod_latencies
-- holds each pod's time from its login being sent to its read answered.
-- Options: tokens=FILE, count=N, role=…, mount=jwt, path=secret/data/…
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "report.lua")

function init(args)
  local options = parse_options(args)
  tokens = read_lines(options.tokens, 1, tonumber(options.count))
  role, mount, secret_path = options.role, options.mount or "jwt", options.path
  cursor, responses, bad_status, pods = 0, 0, 0, 0
  first_us, last_us = nil, 0
  vault_tokens, login_started = {}, {}
  pod_latencies = {}
end

function request()
  if not verified then return verification_request("/v1/" .. secret_path) end
  local now = now_us()
  if first_us == nil then first_us = now end
  if #vault_tokens > 0 then
    local entry = table.remove(vault_tokens, 1)
    pending_read_started = entry.started
    return wrk.format("GET", "/v1/" .. secret_path, { ["X-Vault-Token"] = entry.token })
  end
  cursor = cursor % #tokens + 1
  login_started[#login_started + 1] = now
  local body = '{"role":"' .. role .. '","jwt":"' .. tokens[cursor] .. '"}'
  return wrk.format("POST", "/v1/auth/" .. mount .. "/login", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  local now = now_us()
  last_us = now
  responses = responses + 1
  if status ~= 200 then
    bad_status = bad_status + 1
    return
  end
  local client_token = body:match('"client_token":"([^"]+)"')
  if client_token ~= nil then
    vault_tokens[#vault_tokens + 1] = { token = client_token, started = table.remove(login_started, 1) or now }
  else
    pods = pods + 1
    if pending_read_started ~= nil then pod_latencies[#pod_latencies + 1] = now - pending_read_started end
  end
end

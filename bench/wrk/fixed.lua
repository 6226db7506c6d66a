-- A fixed request (the ceilings, /healthz): no request/response hooks, so wrk stays as fast as it
-- can; non-2xx answers are counted by wrk itself (summary.errors.status) and fail the scenario.
dofile(debug.getinfo(1, "S").source:sub(2):match("^(.*/)") .. "report.lua")

-- wrk-report.lua for an empty form POST (a server function without arguments, such as
-- /api/whoami): the same JSON summary, the request made the way the page's own code makes it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = ""
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-report.lua")

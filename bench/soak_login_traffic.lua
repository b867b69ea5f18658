-- Mixed login-server traffic for bench/soak_login.sh (wrk), sent to the
-- apache2 balancer in front of two sso-server replicas. Every request
-- names its class in an X-Soak-Class header; the balancer's access log
-- records class, status, time taken and the replica that answered (never
-- a cookie or ticket), and soak_login.sh counts from it.
--
-- Files in SOAK_DIR (from soak_login.sh):
--   sessions  session cookies made by each replica before the run
--   csrf      "COOKIE TOKEN": a CSRF cookie and its form token
--   exchange  tickets for wiki.soak.example.org/, one a line
--   password  the good user's password
--
-- Session cookies that answers set (logins, and silent tickets, which
-- re-seal the session) join this thread's ring, so a session sealed by
-- one replica is presented to both from then on.


local mix = {
    { "silent", 60 }, { "no_session", 5 }, { "login_good", 2 },
    { "login_bad", 8 }, { "exchange", 15 }, { "exchange_bad", 3 },
    { "logout", 5 },
}

-- setup(), lines() and the wheel: bench/soak_mix.lua, beside this file.
local soak = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "soak_mix.lua")
local lines = soak.lines

local wheel = {}
local ring = {}
local ring_next = 1
local RING = 64
local tickets, csrf_cookie, csrf_token, password
local n_ticket = 0

function init(args)
    math.randomseed(os.time() + (tid or 0) * 7919)
    wheel = soak.wheel(mix)
    for _, s in ipairs(lines("sessions")) do ring[#ring + 1] = s end
    csrf_cookie, csrf_token = lines("csrf")[1]:match("^(%S+) (%S+)$")
    tickets = lines("exchange")
    password = lines("password")[1]
end

local WIKI = "s=wiki.soak.example.org%2F&d=https%3A%2F%2Fwiki.soak.example.org%2F&n=soaknonce&g="

local function forwarded_for(net)
    return net .. "." .. math.random(1, 254)
end

local function post(class, path, cookie, body, from)
    return wrk.format("POST", path, {
        ["X-Soak-Class"] = class,
        ["Cookie"] = cookie,
        ["Content-Type"] = "application/x-www-form-urlencoded",
        -- The balancer appends its own peer (127.0.0.1, a trusted proxy);
        -- the server takes this entry as the client's address.
        ["X-Forwarded-For"] = from,
    }, body)
end

function request()
    local class = wheel[math.random(1, #wheel)]
    local session = ring[math.random(1, #ring)]
    local csrf = "__Host-sso_csrf=" .. csrf_cookie
    if class == "silent" then
        return wrk.format("GET", "/?" .. WIKI, {
            ["X-Soak-Class"] = class,
            ["Cookie"] = "__Host-sso_session=" .. session,
        })
    elseif class == "no_session" then
        return wrk.format("GET", "/?" .. WIKI, { ["X-Soak-Class"] = class })
    elseif class == "login_good" then
        -- Addresses in 192.0.2.0/24 never fail a login, so they are never
        -- throttled: any answer but 302 is a refused valid login.
        return post(class, "/login", csrf,
            "csrf=" .. csrf_token .. "&" .. WIKI .. "&username=soak&password=" .. password,
            forwarded_for("192.0.2"))
    elseif class == "login_bad" then
        -- A wrong password for an existing user, or an unknown user, from
        -- 198.51.100.0/24: 401, or 429 once the throttle counts enough.
        local user = math.random(1, 2) == 1 and "mallory" or ("nobody" .. math.random(1, 100000))
        return post(class, "/login", csrf,
            "csrf=" .. csrf_token .. "&" .. WIKI .. "&username=" .. user .. "&password=wrong" .. math.random(1, 1000000),
            forwarded_for("198.51.100"))
    elseif class == "exchange" or class == "exchange_bad" then
        n_ticket = n_ticket % #tickets + 1
        local t = tickets[n_ticket]
        if class == "exchange_bad" then
            -- The same ticket with one signature character changed.
            local c = t:sub(5, 5) == "A" and "B" or "A"
            t = t:sub(1, 4) .. c .. t:sub(6)
        end
        return post(class, "/exchange", "", "t=" .. t .. "&s=api.soak.example.org%2F", forwarded_for("203.0.113"))
    else -- logout: the confirmation form's POST
        return post(class, "/logout", csrf .. "; __Host-sso_session=" .. session,
            "csrf=" .. csrf_token, forwarded_for("192.0.2"))
    end
end

function response(status, headers, body)
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    if set then
        local value = set:match("__Host%-sso_session=([^;]+)")
        if value and #value > 0 then
            ring[ring_next] = value
            ring_next = ring_next % RING + 1
        end
    end
end

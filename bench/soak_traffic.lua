-- Mixed mod_sso traffic for bench/soak.sh (wrk). Every request names its
-- class in an X-Soak-Class header; httpd's access log records that class
-- and the status (never the ticket), and soak.sh counts from the log:
-- wrk's Lua API cannot tie an answer to its request across connections.
--
-- Ticket files (one wire-form ticket a line) come from soak.sh in
-- SOAK_DIR: warm, fresh, expired, forged, wrong_service, newkey, login
-- (each line "NONCE TICKET", used once per thread slice).

local path = os.getenv("SOAK_PATH") -- e.g. /sso/
local threads = tonumber(os.getenv("SOAK_THREADS") or "1")

-- Class, weight. Valid classes: warm, fresh, auth, newkey (once its key is
-- configured), login_good (until its tickets run out: then login_replay).
local mix = {
    { "warm", 30 }, { "fresh", 10 }, { "auth", 10 }, { "newkey", 5 },
    { "expired", 5 }, { "forged", 5 }, { "wrong_service", 5 },
    { "garbage_cookie", 5 }, { "big_header", 5 }, { "oversize_header", 2 },
    { "none", 8 }, { "login_good", 1 }, { "login_bad", 5 },
}

-- setup(), lines() and the wheel: bench/soak_mix.lua, beside this file.
local soak = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "soak_mix.lua")
local lines = soak.lines

local tickets = {}
local logins = {}
local wheel = {}
local garbage = {}
local n = {}

local function random_text(len, alphabet)
    local out = {}
    for i = 1, len do
        local k = math.random(1, #alphabet)
        out[i] = alphabet:sub(k, k)
    end
    return table.concat(out)
end

function init(args)
    math.randomseed(os.time() + (tid or 0))
    for _, name in ipairs({ "warm", "fresh", "expired", "forged", "wrong_service", "newkey" }) do
        tickets[name] = lines(name)
        n[name] = 0
    end
    -- This thread's slice of the once-only sso_login tickets.
    local all = lines("login")
    for i = (tid or 0) + 1, #all, threads do logins[#logins + 1] = all[i] end
    n.login = 0
    wheel = soak.wheel(mix)
    -- Cookie values up to mod_sso's cookie limit (4096 bytes with the
    -- name), headers up to httpd's LimitRequestFieldSize (8190) and past it.
    local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    local junk = b64 .. "!#$%&'()*+,./:;<>?@[]^`{|}~ \"\\"
    for i = 1, 16 do
        garbage[i] = {
            cookie = random_text(math.random(1, 4086), i % 2 == 0 and b64 or junk),
            header = random_text(math.random(4000, 8100), b64),
        }
    end
    garbage.oversize = random_text(9000, b64)
end

local function next_of(name)
    local list = tickets[name]
    n[name] = n[name] % #list + 1
    return list[n[name]]
end

local function get(class, headers)
    headers["X-Soak-Class"] = class
    return wrk.format("GET", path, headers)
end

function request()
    local class = wheel[math.random(1, #wheel)]
    local cookie = function(v) return { ["Cookie"] = "SSO_ticket=" .. v } end
    if class == "warm" or class == "fresh" or class == "expired" or class == "forged"
        or class == "wrong_service" or class == "newkey" then
        return get(class, cookie(next_of(class)))
    elseif class == "auth" then
        return get(class, { ["Authorization"] = "SSO " .. next_of("warm") })
    elseif class == "garbage_cookie" then
        return get(class, cookie(garbage[math.random(1, 16)].cookie))
    elseif class == "big_header" then
        local g = garbage[math.random(1, 16)]
        return get(class, { ["Cookie"] = "SSO_ticket=" .. g.cookie, ["X-Junk"] = g.header })
    elseif class == "oversize_header" then
        return get(class, { ["X-Junk"] = garbage.oversize })
    elseif class == "none" then
        return get(class, {})
    end
    -- sso_login: a fresh ticket with its nonce cookie (each used once,
    -- then replays), or any of them with a wrong nonce (refused before
    -- anything is recorded).
    local entry
    if class == "login_bad" then
        n.bad = (n.bad or 0) + 1
        entry = logins[#logins - (n.bad - 1) % #logins]
    else
        n.login = n.login + 1
        entry = logins[(n.login - 1) % #logins + 1]
        if n.login > #logins then class = "login_replay" end
    end
    local nonce, ticket = entry:match("^(%S+) (%S+)$")
    if class == "login_bad" then nonce = "ffffffffffffffffffffffffffffffff" end
    local h = { ["Cookie"] = "SSO_nonce=" .. nonce, ["X-Soak-Class"] = class }
    return wrk.format("GET", path .. "sso_login?t=" .. ticket .. "&d=%2F", h)
end

-- What bench/soak_traffic.lua and bench/soak_login_traffic.lua share,
-- loaded by both with dofile: each thread's number (tid), the files in
-- SOAK_DIR, and the wheel of request classes drawn by weight.
local M = {}

local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

-- The lines of SOAK_DIR/NAME.
function M.lines(name)
    local t = {}
    for l in io.lines(os.getenv("SOAK_DIR") .. "/" .. name) do t[#t + 1] = l end
    return t
end

-- Each class of MIX ({ {class, weight}, ... }) as often as its weight.
function M.wheel(mix)
    local wheel = {}
    for _, entry in ipairs(mix) do
        for _ = 1, entry[2] do wheel[#wheel + 1] = entry[1] end
    end
    return wheel
end

return M

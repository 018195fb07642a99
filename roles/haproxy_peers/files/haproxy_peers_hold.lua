-- The handover hold of the haproxy_peers role (its README: "Changes clients
-- never notice").
--
-- A new HAProxy worker serves from its first moment, but learns its stick
-- table a little later: from the old worker on a reload, from the other
-- members on a restart. A request in between whose session the table does
-- not hold yet would be balanced anew and stuck to another server. The
-- configuration calls this action only for such a request, and only while
-- the worker is young (proc.haproxy_peers_hold_until, a date in ms, is in
-- the future); it waits until the entry arrives, the hold ends (the date is
-- past, or set to 0 once the handover is done) or the request's bound
-- passes, whichever comes first. Then the request goes on as usual: the
-- stick rules find the entry, or balance it.
--
--   http-request lua.haproxy_peers_hold <table> <bound in ms>
--
-- The key is the transaction variable txn.haproxy_peers_hold_key, set by the
-- configuration from the request (the session cookie). What the hold did is
-- left in txn.haproxy_peers_held: "<ms waited> <learnt|ended|bound>".

-- How often the table is looked at while a request waits: a sleep yields,
-- so a waiting request costs no CPU and no Lua execution time.
local POLL_MS = 2

local function now_ms()
    local now = core.now()
    return now.sec * 1000 + math.floor(now.usec / 1000)
end

local function hold(txn, table_name, bound_ms)
    local key = txn:get_var("txn.haproxy_peers_hold_key")
    local backend = core.backends[table_name]
    if key == nil or backend == nil or backend.stktable == nil then
        return
    end
    local stktable = backend.stktable
    local started = now_ms()
    local deadline = started + tonumber(bound_ms)
    local outcome = "bound"
    while true do
        -- Learnt once the entry names its server: a worker can see an entry
        -- the peers are still writing, key first, server after.
        local entry = stktable:lookup(key)
        if entry ~= nil and entry.server_id ~= nil and entry.server_id ~= 0 then
            outcome = "learnt"
            break
        end
        local now = now_ms()
        local hold_until = txn:get_var("proc.haproxy_peers_hold_until") or 0
        if now >= hold_until then
            outcome = "ended"
            break
        end
        if now >= deadline then
            break
        end
        core.msleep(POLL_MS)
    end
    txn:set_var("txn.haproxy_peers_held", string.format("%d %s", now_ms() - started, outcome))
end

core.register_action("haproxy_peers_hold", { "http-req" }, hold, 2)

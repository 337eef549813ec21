-- Locks with fencing tokens, for client/recipes/lock.h (docs/recipes.md explains the protocol).
--
-- Per lock `name` the space holds two kinds of tuples:
--   ("FENCE", name, n)                   no lease: the last token granted, 0 before any
--   ("LOCK", name, holder, token)        a lease: holder holds the lock, with token
-- The protocol of a client `me`:
--   fence    cas(("FENCE", name, *), ("FENCE", name, 0))      create it, or read it in order
--   take     cas(("LOCK", name, *, *), ("LOCK", name, me, n + 1)) with a lease, where n is the
--            fence: allowed only while ("FENCE", name, n) exists
--   commit   replace(("FENCE", name, n), ("FENCE", name, n + 1)): allowed only while me holds a
--            live ("LOCK", name, me, n + 1); the token n + 1 is granted by this step
--   keep     renew(("LOCK", name, me, token)) by me
--   release  inp or in (("LOCK", name, me, token or *)) by me
--   look     rdp, rd, rdAll by everyone
-- Everything else is denied: an `out` would bypass cas, a second FENCE tuple or a lowered fence
-- would let a token be granted twice, and a tuple with a readers list would be invisible to
-- other clients' cas (two locks), one with a removers list would let its inserter block commits.
--
-- Install: bastion space create locks --policy examples/policies/fenced_lock.lua

local LEASE_MAX_MS = 300000

local function is_string(v) return type(v) == "string" end
local function is_int(v) return math.type(v) == "integer" end

-- Per-tuple access lists would let one client hide or pin a tuple: none are allowed.
local function plain(req)
  return #req.readers == 0 and #req.removers == 0
end

local function lease_ok(lease)
  return lease >= 1 and lease <= LEASE_MAX_MS
end

local rules = {}

function rules.cas(req)
  local t, x = req.template, req.tuple
  if not plain(req) then return deny("lock tuples carry no readers or removers lists") end
  if #x == 3 and x[1] == "FENCE" then
    if not is_string(x[2]) or not is_int(x[3]) or x[3] ~= 0 or req.lease ~= 0 then
      return deny('a fence starts as ("FENCE", name, 0) without a lease')
    end
    if #t ~= 3 or t[1] ~= "FENCE" or t[2] ~= x[2] or t[3] ~= ANY then
      return deny('create a fence with the template ("FENCE", name, *)')
    end
    return allow()
  end
  if #x == 4 and x[1] == "LOCK" then
    local name, holder, token = x[2], x[3], x[4]
    if not is_string(name) or holder ~= req.invoker or not is_int(token) then
      return deny('take a lock as ("LOCK", name, ' .. req.invoker .. ", token)")
    end
    if #t ~= 4 or t[1] ~= "LOCK" or t[2] ~= name or t[3] ~= ANY or t[4] ~= ANY then
      return deny('take a lock with the template ("LOCK", name, *, *)')
    end
    if not lease_ok(req.lease) then
      return deny("a lock needs a lease of 1 to " .. LEASE_MAX_MS .. " ms")
    end
    if not exists({"FENCE", name, token - 1}) then
      return deny("token " .. token .. " is not the next one of lock " .. name)
    end
    return allow()
  end
  return deny('cas takes a lock or creates a fence')
end

function rules.replace(req)
  local t, x = req.template, req.tuple
  if not plain(req) or req.lease ~= 0 then return deny("a fence has no lease and no lists") end
  if #t ~= 3 or t[1] ~= "FENCE" or not is_string(t[2]) or not is_int(t[3]) then
    return deny('commit with the template ("FENCE", name, n)')
  end
  local name, n = t[2], t[3]
  if #x ~= 3 or x[1] ~= "FENCE" or x[2] ~= name or not is_int(x[3]) or x[3] ~= n + 1 then
    return deny('a fence moves only from n to n + 1')
  end
  if not exists({"LOCK", name, req.invoker, n + 1}) then
    return deny(req.invoker .. " does not hold lock " .. name .. " with token " .. (n + 1))
  end
  return allow()
end

function rules.renew(req)
  local t = req.template
  if #t ~= 4 or t[1] ~= "LOCK" or not is_string(t[2]) or t[3] ~= req.invoker or
     not is_int(t[4]) then
    return deny('renew ("LOCK", name, ' .. req.invoker .. ", token)")
  end
  if not lease_ok(req.lease) then
    return deny("a lock needs a lease of 1 to " .. LEASE_MAX_MS .. " ms")
  end
  return allow()
end

function rules.inp(req)
  local t = req.template
  if #t ~= 4 or t[1] ~= "LOCK" or not is_string(t[2]) or t[3] ~= req.invoker or
     not (is_int(t[4]) or t[4] == ANY) then
    return deny('release with ("LOCK", name, ' .. req.invoker .. ", token)")
  end
  return allow()
end
rules["in"] = rules.inp

local function read()
  return allow()
end
rules.rdp = read
rules.rd = read
rules.rdAll = read

function decide(req)
  local rule = rules[req.op]
  if rule == nil then return deny(req.op .. " is not how fenced locks are used") end
  return rule(req)
end

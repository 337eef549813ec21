-- Named locks with leases: ("LOCK", name, holder). A client takes a free lock with cas, keeps it
-- by renewing its lease, and releases it with inp; only the holder may renew or release it, and
-- a holder that crashes loses the lock when the lease runs out.
--
--   take     cas(("LOCK", name, *), ("LOCK", name, me)) with a lease of at most LEASE_MAX_MS
--   keep     renew(("LOCK", name, me)) by me
--   release  inp or in (("LOCK", name, me)) by me
--   look     rdp, rd, rdAll by everyone
--
-- Install: bastion space create locks --policy examples/policies/lock.lua

local LEASE_MAX_MS = 300000

-- ("LOCK", name, holder) with both fields concrete strings: name, holder.
local function lock(fields)
  if fields == nil or #fields ~= 3 or fields[1] ~= "LOCK" then return nil end
  if type(fields[2]) ~= "string" or type(fields[3]) ~= "string" then return nil end
  return fields[2], fields[3]
end

function decide(req)
  local op, me = req.op, req.invoker
  if op == "rdp" or op == "rd" or op == "rdAll" then return allow() end
  if op == "cas" then
    local t = req.template
    local name, holder = lock(req.tuple)
    if name == nil or holder ~= me then return deny('take a lock as ("LOCK", name, ' .. me .. ")") end
    if #t ~= 3 or t[1] ~= "LOCK" or t[2] ~= name or t[3] ~= ANY then
      return deny('take a lock with the template ("LOCK", name, *)')
    end
    if req.lease == 0 or req.lease > LEASE_MAX_MS then
      return deny("a lock needs a lease of at most " .. LEASE_MAX_MS .. " ms")
    end
    return allow()
  end
  if op == "renew" or op == "inp" or op == "in" then
    local name, holder = lock(req.template)
    if name == nil then return deny('name one lock: ("LOCK", name, holder)') end
    if holder ~= me then return deny("only " .. holder .. " holds " .. name) end
    if op == "renew" and req.lease > LEASE_MAX_MS then
      return deny("a lease is at most " .. LEASE_MAX_MS .. " ms")
    end
    return allow()
  end
  return deny(op .. " is not how locks are used here: cas, renew, inp, rdp")
end

-- A private namespace per client: a tuple belongs to the client named in its first field, and
-- only that client may insert, read, renew or remove it. Members of the group "auditors" (and
-- the cluster's admins) may read everything, and change nothing.
--
-- Every template must name its owner in the first field: ("alice", *, *) is alice's, (*, *) is
-- nobody's and is denied, so that a client never reads past its own tuples.
--
-- Install: bastion space create home --policy examples/policies/private.lua

local READS = {rdp = true, rd = true, rdAll = true}

local function owner_of(fields)
  if fields == nil then return nil end
  local first = fields[1]
  if type(first) ~= "string" then return nil end
  return first
end

function decide(req)
  local me = req.invoker
  if READS[req.op] and (req.groups.auditors or req.groups.admins) then return allow() end
  if req.op == "outAll" then
    for i, entry in ipairs(req.entries) do
      if owner_of(entry.tuple) ~= me then return deny("entry " .. i .. " is not " .. me .. "'s") end
    end
    return allow()
  end
  if req.template ~= nil and owner_of(req.template) ~= me then
    return deny("templates here start with your own name, " .. me)
  end
  if req.tuple ~= nil and owner_of(req.tuple) ~= me then
    return deny("tuples here start with their owner's name, " .. me)
  end
  return allow()
end

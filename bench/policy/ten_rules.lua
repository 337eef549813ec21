-- A policy of ten rules for benchmarks (bastion-policy-bench, bastion-bench --policy): about what
-- a real policy checks on every operation, over bastion-bench's tuples
-- ("bench", client, key, payload).

local READS = {rdp = true, rd = true, rdAll = true}
local TAKES = {inp = true, ["in"] = true, inAll = true}
local LEASE_MAX_MS = 3600000

local function bench_fields(fields)
  return fields ~= nil and #fields == 4 and fields[1] == "bench"
end

-- Rules 3 to 8: a tuple that may be written, with its lease and access lists.
local function writable(t, lease, readers, removers)
  if not bench_fields(t) then return false, "bench tuples only" end
  if math.type(t[2]) ~= "integer" then return false, "field 2 is a client number" end
  if math.type(t[3]) ~= "integer" or t[3] < 0 then return false, "field 3 is a key" end
  if field_type(t[4]) ~= "bytes" then return false, "field 4 is the payload" end
  if lease > LEASE_MAX_MS then return false, "a lease is at most an hour" end
  if #readers > 8 or #removers > 8 then return false, "access lists of at most 8" end
  return true
end

function decide(req)
  if req.groups.banned then return deny("banned") end                   -- rule 1
  if READS[req.op] or TAKES[req.op] then                               -- rule 2
    return bench_fields(req.template) or deny("bench templates only")
  end
  if req.op == "out" or req.op == "cas" then                            -- rules 3-8
    return writable(req.tuple, req.lease, req.readers, req.removers)
  end
  if req.op == "outAll" then                                           -- rule 9
    for _, e in ipairs(req.entries) do
      local ok, why = writable(e.tuple, e.lease, e.readers, e.removers)
      if not ok then return deny(why) end
    end
    return allow()
  end
  return deny(req.op .. " is not used here")                            -- rule 10
end

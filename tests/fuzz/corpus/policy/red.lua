-- The coordination space of ReD (the thesis in shared/reference, section 4.3.3): one writer
-- elected among database replicas, re-elected when it fails.
--
-- Tuples are ("REPLICA", id, state), id a coordinator's certificate name, state one of
-- "STOPPED", "COPIER", "WRITER", each with a lease that its coordinator renews. A coordinator
-- moves only its own tuples, only along STOPPED -> COPIER -> WRITER, and inserts the tuple of its
-- next state before it removes the one of its previous state (so that the writer's view, built
-- with rdAll, never misses a replica). The thesis's rules:
--   out (REPLICA, C, STOPPED)      only by C
--   out (REPLICA, C, COPIER)       only if (REPLICA, C, STOPPED) exists
--   in  (REPLICA, C, STOPPED)      only if (REPLICA, C, COPIER) exists
--   in  (REPLICA, C, COPIER)       only if (REPLICA, C, WRITER) exists
--   renew (REPLICA, C, *)          only by C
--   cas ((REPLICA, *, WRITER), (REPLICA, C, WRITER))   only by C
--   rdp, rd, rdAll                 by everyone; everything else is denied.
-- Who may insert C's COPIER tuple? The thesis has two cases and this policy admits exactly them:
-- the current writer admitting a new replica (dealWithStopped: it holds a WRITER tuple), or C
-- itself when no writer exists (onStart: the writer failed before admitting C). It also says
-- who may remove: C's STOPPED tuple by C or by the writer, C's COPIER tuple by C only, and a
-- WRITER tuple by nobody (it expires). It is stricter than the thesis in three ways that a
-- faulty coordinator would otherwise exploit: cas makes only a COPIER the writer, removals name
-- one exact tuple (no wildcards), and every tuple has a lease of at most LEASE_MAX_MS, so that a
-- coordinator that crashes never blocks an election for longer than that.
--
-- Install: bastion space create red --policy examples/policies/red.lua

local LEASE_MAX_MS = 60000

-- The id and state of ("REPLICA", id, state) when `fields` (a tuple, or a template without
-- wildcards) is one; nil otherwise.
local function replica(fields)
  if fields == nil or #fields ~= 3 or fields[1] ~= "REPLICA" then return nil end
  if type(fields[2]) ~= "string" or type(fields[3]) ~= "string" then return nil end
  return fields[2], fields[3]
end

local function has(id, state)
  return exists({"REPLICA", id, state})
end

local function lease_problem(lease)
  if lease == 0 then return "every tuple of this space needs a lease" end
  if lease > LEASE_MAX_MS then return "a lease is at most " .. LEASE_MAX_MS .. " ms" end
  return nil
end

local rules = {}

function rules.out(req)
  local problem = lease_problem(req.lease)
  if problem then return deny(problem) end
  local id, state = replica(req.tuple)
  if id == nil then return deny('only ("REPLICA", id, state) tuples belong here') end
  if state == "STOPPED" then
    if id == req.invoker then return allow() end
    return deny("only " .. id .. " may announce " .. id)
  end
  if state == "COPIER" then
    if not has(id, "STOPPED") then return deny(id .. " is not STOPPED") end
    if has(req.invoker, "WRITER") then return allow() end
    if id == req.invoker and not exists({"REPLICA", ANY, "WRITER"}) then return allow() end
    return deny("only the writer, or " .. id .. " itself when there is no writer, makes " ..
                id .. " a copier")
  end
  if state == "WRITER" then return deny("a writer is elected with cas, not inserted") end
  return deny("unknown state " .. state)
end

-- inp and in: remove one exact tuple.
function rules.inp(req)
  local id, state = replica(req.template)
  if id == nil then return deny('remove one exact ("REPLICA", id, state) tuple') end
  if state == "STOPPED" then
    if not has(id, "COPIER") then return deny(id .. " is not a COPIER yet") end
    if id == req.invoker or has(req.invoker, "WRITER") then return allow() end
    return deny("only " .. id .. " or the writer removes " .. id .. "'s STOPPED tuple")
  end
  if state == "COPIER" then
    if id ~= req.invoker then return deny("only " .. id .. " removes its COPIER tuple") end
    if has(id, "WRITER") then return allow() end
    return deny(id .. " is not the WRITER yet")
  end
  return deny("a " .. state .. " tuple is never removed: it expires")
end
rules["in"] = rules.inp

function rules.renew(req)
  local t = req.template
  if #t ~= 3 or t[1] ~= "REPLICA" or type(t[2]) ~= "string" then
    return deny('renew ("REPLICA", id, state) with your own id')
  end
  if t[2] ~= req.invoker then return deny("only " .. t[2] .. " renews its tuples") end
  local problem = lease_problem(req.lease)
  if problem then return deny(problem) end
  return allow()
end

function rules.cas(req)
  local t = req.template
  if #t ~= 3 or t[1] ~= "REPLICA" or t[2] ~= ANY or t[3] ~= "WRITER" then
    return deny('cas only with the template ("REPLICA", *, "WRITER")')
  end
  local id, state = replica(req.tuple)
  if id ~= req.invoker or state ~= "WRITER" then
    return deny('cas inserts only ("REPLICA", ' .. req.invoker .. ', "WRITER")')
  end
  local problem = lease_problem(req.lease)
  if problem then return deny(problem) end
  if not has(id, "COPIER") then return deny(id .. " is not a COPIER") end
  return allow()
end

local function read()
  return allow()
end
rules.rdp = read
rules.rd = read
rules.rdAll = read

function decide(req)
  local rule = rules[req.op]
  if rule == nil then return deny(req.op .. " is not allowed in this space") end
  return rule(req)
end

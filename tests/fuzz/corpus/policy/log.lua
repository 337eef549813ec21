-- An append-only log: entries ("entry", n, author, text) numbered 1, 2, 3, ... without gaps,
-- each signed by its author (the author field is the inserting client's certificate name).
-- Nothing is ever removed, changed or made to expire; everyone may read.
--
--   out ("entry", n, author, text)   only by author, no lease, and only when entry n - 1
--                                    exists (for n > 1) and entry n does not: by induction the
--                                    entries are 1..N without gaps or duplicates. Concurrent
--                                    appends with the same n: the first one ordered wins, the
--                                    others are denied and retry with the next number. Both
--                                    checks are index lookups: an append costs the same in a
--                                    log of any length.
--   rdp, rd, rdAll                   by everyone
--   anything else                    denied
--
-- Install: bastion space create log --policy examples/policies/log.lua

function decide(req)
  if req.op == "rdp" or req.op == "rd" or req.op == "rdAll" then return allow() end
  if req.op ~= "out" then return deny("the log is append-only: " .. req.op .. " is not allowed") end
  local t = req.tuple
  if #t ~= 4 or t[1] ~= "entry" or math.type(t[2]) ~= "integer" or type(t[3]) ~= "string" then
    return deny('append ("entry", n, author, text)')
  end
  if t[3] ~= req.invoker then return deny("an entry's author is its writer, " .. req.invoker) end
  if req.lease ~= 0 then return deny("log entries never expire: no lease") end
  local n = t[2]
  if n < 1 then return deny("entries are numbered from 1") end
  if exists({"entry", n, ANY, ANY}) then return deny("entry " .. n .. " exists: append after it") end
  if n > 1 and not exists({"entry", n - 1, ANY, ANY}) then
    return deny("entry " .. n - 1 .. " does not exist yet: no gaps")
  end
  return allow()
end

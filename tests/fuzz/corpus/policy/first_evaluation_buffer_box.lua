local big = {}
function decide(req)
  for i = 1, 100 do big[i] = string.rep("‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹‹ab", i) .. i end
  table.sort(big, function(a, b) return #a > #b end)
  local s = ("a"):rep(30)
  local found = s:find(".-.-b")
  while pcall(function() local x = 0 for i = 1, 1e9 do x = x + i end end) do end
  return found ~= nil
end

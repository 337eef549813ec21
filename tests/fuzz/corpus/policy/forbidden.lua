function decide(req)
  local ok = pcall(function() return os.time() end)
  local t = setmetatable({}, {__index = function(t, k) return k end})
  for k, v in pairs({a = 1, b = 2, [3] = true}) do t[k] = v end
  local s = string.format("%s %d %q", tostring(t), #req.tuple, "x")
  return #s > 0 and not ok, s
end

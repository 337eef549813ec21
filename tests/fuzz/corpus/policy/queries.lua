function decide(req)
  local w = rdp({"REPLICA", ANY, "WRITER"})
  local n = count({"REPLICA", FORMAL.string, ANY})
  local m = matches({"REPLICA", ANY, ANY}, req.tuple)
  return exists({"REPLICA", req.invoker, ANY}) and m, tostring(w and w[2]) .. n .. field_type(req.tuple[2])
end

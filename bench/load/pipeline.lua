-- wrk script: every write carries N pipelined GET requests (wrk counts each reply).
-- Arguments after "--": the depth (default 16) and the path (default /).
init = function(args)
  local depth = tonumber(args[1]) or 16
  local path = args[2] or "/"
  local requests = {}
  for i = 1, depth do requests[i] = wrk.format(nil, path) end
  pipelined = table.concat(requests)
end

request = function()
  return pipelined
end

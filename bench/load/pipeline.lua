-- wrk script: every write carries 16 pipelined GET / requests (wrk counts each reply).
init = function(args)
  local depth = tonumber(args[1]) or 16
  local requests = {}
  for i = 1, depth do requests[i] = wrk.format(nil, "/") end
  pipelined = table.concat(requests)
end

request = function()
  return pipelined
end

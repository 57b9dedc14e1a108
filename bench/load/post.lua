-- wrk script: POST a JSON body. Arguments: path, body.
local request_bytes
function init(args)
  request_bytes = wrk.format("POST", args[1], { ["Host"] = "127.0.0.1", ["Content-Type"] = "application/json" }, args[2])
end
function request()
  return request_bytes
end

-- wrk script of bench/webhooks/run: the floor sends the worker's own requests.
--   WH_REQUEST   a file: "name: value" header lines, an empty line, the body
--                (one request the worker sent, taken from webhook_logs)
--   WH_ENDPOINTS N: the requests go round-robin to /e1 ... /eN, as the worker's
--                deliveries to N webhooks do
local file = assert(io.open(assert(os.getenv("WH_REQUEST"), "WH_REQUEST is not set"), "rb"))
local text = file:read("*a")
file:close()
local head, body = text:match("^(.-)\n\n(.*)$")
assert(head, "WH_REQUEST: no empty line between the headers and the body")

wrk.method = "POST"
wrk.body = body
for line in head:gmatch("[^\n]+") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
end

local endpoints = tonumber(os.getenv("WH_ENDPOINTS") or "1")
local requests = nil
local n = 0

-- Built on first use: wrk adds the Host header only after loading the script.
request = function()
    if not requests then
        requests = {}
        for i = 1, endpoints do
            requests[i] = wrk.format(nil, "/e" .. i)
        end
    end
    n = n + 1
    return requests[(n % endpoints) + 1]
end

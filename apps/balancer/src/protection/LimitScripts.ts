/**
 * The Lua scripts that count limits in Redis for every replica at once (issue 14 item 4). Each runs
 * atomically in Redis, so replicas admitting at the same moment see each other's counts. They mirror
 * the in-process limits of packages/core (MinuteLimit, TokenLimit over SlidingWindow): 1-second
 * buckets of the last 60 seconds, kept as the fields of a hash (second -> amount), so the headers
 * and refusals read the same whether a balancer counts alone or with Redis. Time is Redis's own
 * (TIME), so the replicas' clocks need not agree.
 *
 * Per limited key (a client token, or `admin:<address>`), three hashes under one hash tag:
 * - `requests`: requests admitted, by second (rpm);
 * - `tokens`: real usage of the requests that ended, by the second they ended in (tpm);
 * - `held`: the estimates the requests in flight hold, by the second they were admitted in. A hold is
 *   given back by `settle`; one whose replica died before that expires after HOLD_SECONDS.
 */

/** How long a hold of a request in flight counts at most (a replica may die without settling it). */
export const HOLD_SECONDS = 300

const COMMON = `
local WINDOW = 60
local HOLD_SECONDS = ${HOLD_SECONDS}
local time = redis.call('TIME')
local second = tonumber(time[1])
local now = second * 1000 + math.floor(tonumber(time[2]) / 1000)
`

/**
 * KEYS: requests, tokens, held. ARGV: rpm limit, tpm limit (-1 = no such limit), the request's estimate.
 * Counts the request and holds its estimate when both limits allow it, else counts nothing. Answers
 * { refused by (0 = admitted, +1 rpm, +2 tpm), the second, rpm used, rpm reset ms, tpm used, tpm reset
 * ms, wait ms (refused: until the exceeded limits allow it), tokens held }, counts after the admission.
 */
export const ADMIT = `${COMMON}
-- The total of a hash's buckets of the last span seconds, and those buckets oldest first; drops older ones.
local function load(key, span)
  local flat = redis.call('HGETALL', key)
  local total, buckets, stale = 0, {}, {}
  local oldest = second - span + 1
  for i = 1, #flat, 2 do
    local s = tonumber(flat[i])
    if s < oldest then
      stale[#stale + 1] = flat[i]
    else
      local amount = tonumber(flat[i + 1])
      total = total + amount
      buckets[#buckets + 1] = { s, amount }
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  return total, buckets
end

-- Milliseconds until the total drops below limit as buckets leave the minute (SlidingWindow.msUntilBelow).
local function untilBelow(total, buckets, limit)
  if total < limit then return 0 end
  for _, bucket in ipairs(buckets) do
    total = total - bucket[2]
    if total < limit then return (bucket[1] + WINDOW) * 1000 - now end
  end
  return WINDOW * 1000
end

-- Adds to the current second's bucket, in Redis and in the loaded list (newest last).
local function add(key, buckets, amount, ttl)
  redis.call('HINCRBY', key, second, amount)
  redis.call('PEXPIRE', key, (ttl + 1) * 1000)
  local last = buckets[#buckets]
  if last ~= nil and last[1] == second then last[2] = last[2] + amount else buckets[#buckets + 1] = { second, amount } end
end

-- TokenLimit.waitMs: until a request of this hold fits, if the requests in flight used nothing more.
local function tokenWait(limit, usage, buckets, reserved, hold)
  local room = limit - hold
  if reserved <= room then return untilBelow(usage, buckets, room - reserved + 1) end
  return math.max(1000, untilBelow(usage, buckets, room + 1))
end

local rpm, tpm, estimate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local requests, requestBuckets, usage, usageBuckets, reserved, heldBuckets = 0, {}, 0, {}, 0, {}
local hold = 0
if rpm >= 0 then requests, requestBuckets = load(KEYS[1], WINDOW) end
if tpm >= 0 then
  usage, usageBuckets = load(KEYS[2], WINDOW)
  reserved, heldBuckets = load(KEYS[3], HOLD_SECONDS)
  hold = math.min(math.max(1, estimate), tpm)
end
local rpmFull = rpm >= 0 and requests + 1 > rpm
local tpmFull = tpm >= 0 and usage + reserved + hold > tpm
if rpmFull or tpmFull then
  local wait = 0
  if rpmFull then wait = untilBelow(requests, requestBuckets, rpm) end
  if tpmFull then wait = math.max(wait, tokenWait(tpm, usage, usageBuckets, reserved, hold)) end
  local rpmReset, tpmReset = 0, 0
  if rpm >= 0 then rpmReset = untilBelow(requests, requestBuckets, rpm) end
  if tpm >= 0 then tpmReset = tokenWait(tpm, usage, usageBuckets, reserved, 1) end
  local refusedBy = 0
  if rpmFull then refusedBy = 1 end
  if tpmFull then refusedBy = refusedBy + 2 end
  return { refusedBy, second, requests, rpmReset, usage + reserved, tpmReset, wait, 0 }
end
if rpm >= 0 then
  add(KEYS[1], requestBuckets, 1, WINDOW)
  requests = requests + 1
end
local tpmReset = 0
if tpm >= 0 then
  add(KEYS[3], heldBuckets, hold, HOLD_SECONDS)
  reserved = reserved + hold
  tpmReset = tokenWait(tpm, usage, usageBuckets, reserved, 1)
end
local rpmReset = 0
if rpm >= 0 then rpmReset = untilBelow(requests, requestBuckets, rpm) end
return { 0, second, requests, rpmReset, usage + reserved, tpmReset, 0, hold }
`

/**
 * KEYS: tokens, held. ARGV: the second the request was admitted in, what it held, the tokens it used.
 * Gives the hold back (unless it expired already) and counts the real usage in the current second.
 */
export const SETTLE = `${COMMON}
local admitted, hold, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if admitted > second - HOLD_SECONDS and hold > 0 then
  if redis.call('HINCRBY', KEYS[2], admitted, -hold) <= 0 then redis.call('HDEL', KEYS[2], admitted) end
end
if used > 0 then
  redis.call('HINCRBY', KEYS[1], second, used)
  redis.call('PEXPIRE', KEYS[1], (WINDOW + 1) * 1000)
end
return now
`

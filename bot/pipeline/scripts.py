"""Lua scripts: each step that must be atomic across processes runs as one script in Redis.

Keys are built inside the scripts from a prefix (ARGV[1]), so this needs a single Redis server
(not Redis Cluster). Scripts are idempotent where a client may repeat them after a lost reply.
"""

from __future__ import annotations

# Shared helper: XADD a delivery for every waiter of a job. The delivery JSON is assembled by
# concatenation around JSON made in Python (request, payload) so nothing is re-encoded by cjson.
_FANOUT = """
local function fanout(P, job_id, kind, tag, payload, maxlen, done)
  local ws = redis.call("LRANGE", P.."job:"..job_id..":waiters", 0, -1)
  for _, w in ipairs(ws) do
    local r = cjson.decode(w)
    local msg = '{"v":1,"kind":"'..kind..'","delivery_id":"'..r.request_id..':'..tag..
      '","job_id":"'..job_id..'","request":'..w..',"payload":'..payload..'}'
    redis.call("XADD", P.."deliver:"..r.reply.adapter, "MAXLEN", "~", maxlen, "*", "d", msg)
    if done then redis.call("SREM", P.."busy:"..r.user, r.request_id) end
  end
  return #ws
end
"""

# Shared helpers of the per user and per chat limits: a sliding window's wait (nil: room left),
# and a user's audits in flight: running or queued (``busy:``) plus uploads being fetched, each
# held for a while before it is submitted (``hold:``, a sorted set by expiry).
_LIMITS = """
local function window(key, limit, win, now)
  redis.call("ZREMRANGEBYSCORE", key, "-inf", now - win)
  if redis.call("ZCARD", key) >= limit then
    local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    return tonumber(oldest[2]) + win - now
  end
  return nil
end
local function in_flight(P, user, now)
  local hk = P.."hold:"..user
  redis.call("ZREMRANGEBYSCORE", hk, "-inf", now)
  return redis.call("SCARD", P.."busy:"..user) + redis.call("ZCARD", hk)
end
"""

#: Rate limits, cache, coalescing and enqueueing of one request, all or nothing. A hold taken
#: for the request by ADMIT (an upload fetched meanwhile) ends here.
SUBMIT = (
    _LIMITS
    + """
local P, req, rid, user, chat, ckey = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local fresh = ARGV[7] == "1"
local now, cache_ttl = tonumber(ARGV[8]), tonumber(ARGV[9])
local ur, uw = tonumber(ARGV[10]), tonumber(ARGV[11])
local cr, cw = tonumber(ARGV[12]), tonumber(ARGV[13])
local cap, job_id, job_json, req_ttl = tonumber(ARGV[14]), ARGV[15], ARGV[16], tonumber(ARGV[17])
local hkey, sample = ARGV[18], tonumber(ARGV[19])

local prev = redis.call("GET", P.."req:"..rid)
if prev then return prev end
redis.call("ZREM", P.."hold:"..user, rid)

local uk, ck, bk = P.."rl:user:"..user, P.."rl:chat:"..chat, P.."busy:"..user
local wait = window(uk, ur, uw, now)
if wait then return cjson.encode({status="refused", reason="user_rate", retry_after=wait}) end
wait = window(ck, cr, cw, now)
if wait then return cjson.encode({status="refused", reason="chat_rate", retry_after=wait}) end

local function accept(resp)
  redis.call("ZADD", uk, now, rid)
  redis.call("PEXPIRE", uk, math.ceil(uw * 1000))
  redis.call("ZADD", ck, now, rid)
  redis.call("PEXPIRE", ck, math.ceil(cw * 1000))
  local out = cjson.encode(resp)
  redis.call("SET", P.."req:"..rid, out, "EX", req_ttl)
  return out
end

if ckey ~= "" and not fresh then
  local c = redis.call("GET", P.."cache:"..ckey)
  if c then
    local sep = string.find(c, "|", 1, true)
    local cid, fin = string.sub(c, 1, sep - 1), tonumber(string.sub(c, sep + 1))
    if now - fin <= cache_ttl and redis.call("EXISTS", P.."result:"..cid) == 1 then
      return accept({status="cached", job_id=cid, age=now - fin})
    end
  end
end

if in_flight(P, user, now) >= cap then
  return cjson.encode({status="refused", reason="in_flight"})
end

-- Coalesce by handle: join a running audit of the same handle reading at least this sample.
if hkey ~= "" then
  local cur = redis.call("GET", P.."inflight:"..hkey)
  local sep = cur and string.find(cur, "|", 1, true)
  local jid = sep and tonumber(string.sub(cur, sep + 1)) >= sample and string.sub(cur, 1, sep - 1)
  if jid then
    redis.call("RPUSH", P.."job:"..jid..":waiters", req)
    redis.call("SADD", bk, rid)
    redis.call("EXPIRE", bk, 86400)
    local stage = redis.call("HGET", P.."job:"..jid, "stage") or "queued"
    return accept({status="coalesced", job_id=jid, stage=stage})
  end
end

local jk = P.."job:"..job_id
local pointer = job_id.."|"..sample
redis.call("HSET", jk, "state", "queued", "stage", "queued", "ckey", ckey, "hkey", hkey,
  "inflight", pointer, "created_at", now, "attempts", 0)
if hkey ~= "" then redis.call("SET", P.."inflight:"..hkey, pointer) end
redis.call("RPUSH", jk..":waiters", req)
redis.call("SADD", bk, rid)
redis.call("EXPIRE", bk, 86400)
local pos = redis.call("INCR", P.."queued")
redis.call("XADD", P.."audits", "*", "job", job_json)
return accept({status="queued", job_id=job_id, position=pos})
"""
)

#: Before an upload is fetched: the same limits as SUBMIT (nothing recorded), and when they
#: allow it an in-flight hold for the request until SUBMIT (or until it expires).
ADMIT = (
    _LIMITS
    + """
local P, rid, user, chat, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ur, uw, cr, cw = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local cap, hold = tonumber(ARGV[10]), tonumber(ARGV[11])
local wait = window(P.."rl:user:"..user, ur, uw, now)
if wait then return cjson.encode({status="refused", reason="user_rate", retry_after=wait}) end
wait = window(P.."rl:chat:"..chat, cr, cw, now)
if wait then return cjson.encode({status="refused", reason="chat_rate", retry_after=wait}) end
if in_flight(P, user, now) >= cap then
  return cjson.encode({status="refused", reason="in_flight"})
end
local hk = P.."hold:"..user
redis.call("ZADD", hk, now + hold, rid)
redis.call("PEXPIRE", hk, math.ceil(hold * 1000))
return cjson.encode({status="admitted"})
"""
)

# Uploaded files held in Redis, and their total size: ``upload:<id>`` (the bytes, with a TTL),
# ``uploads:held`` (ids by expiry, server time), ``uploads:size`` (id -> bytes), ``uploads:bytes``.
_UPLOADS = """
local function held_bytes(P, now)
  local idx, sizes, total = P.."uploads:held", P.."uploads:size", P.."uploads:bytes"
  for _, id in ipairs(redis.call("ZRANGEBYSCORE", idx, "-inf", now)) do
    redis.call("DECRBY", total, tonumber(redis.call("HGET", sizes, id) or "0"))
    redis.call("HDEL", sizes, id)
  end
  redis.call("ZREMRANGEBYSCORE", idx, "-inf", now)
  return tonumber(redis.call("GET", total) or "0")
end
local now = tonumber(redis.call("TIME")[1])
"""

#: Park an upload unless the uploads held would then exceed the bound: 1 stored (or stored
#: before: a repeat after a lost reply), 0 full. ``check`` only says whether ``size`` would fit.
UPLOAD_PUT = (
    _UPLOADS
    + """
local P, id, data, ttl, bound, size = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call("HEXISTS", P.."uploads:size", id) == 1 then return 1 end
if held_bytes(P, now) + size > bound then return 0 end
if ARGV[7] == "check" then return 1 end
redis.call("SET", P.."upload:"..id, data, "EX", ttl)
redis.call("ZADD", P.."uploads:held", now + ttl, id)
redis.call("HSET", P.."uploads:size", id, size)
redis.call("INCRBY", P.."uploads:bytes", size)
return 1
"""
)

#: Forget an upload and its bytes in the total (idempotent).
UPLOAD_DELETE = (
    _UPLOADS
    + """
local P, id = ARGV[1], ARGV[2]
held_bytes(P, now)
local size = redis.call("HGET", P.."uploads:size", id)
if size then redis.call("DECRBY", P.."uploads:bytes", tonumber(size)) end
redis.call("HDEL", P.."uploads:size", id)
redis.call("ZREM", P.."uploads:held", id)
return redis.call("DEL", P.."upload:"..id)
"""
)

#: A worker takes a job (first delivery or takeover). Returns {state, attempts}.
START = """
local P, job_id, consumer, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local jk = P.."job:"..job_id
local state = redis.call("HGET", jk, "state")
if not state then return {"missing", 0} end
if state == "done" then return {"done", 0} end
if state == "queued" then redis.call("DECR", P.."queued") end
redis.call("HSET", jk, "state", "running", "owner", consumer, "started_at", now)
return {"run", redis.call("HINCRBY", jk, "attempts", 1)}
"""

#: Renew the heartbeat of every audit a worker runs: XCLAIM to itself resets the entry's idle
#: time, but only while the worker still owns it. Returns the ids it no longer owns.
HEARTBEAT = """
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local lost = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call("XPENDING", stream, group, id, id, 1)
  if #p == 0 or p[1][2] ~= consumer then
    table.insert(lost, id)
  else
    redis.call("XCLAIM", stream, group, consumer, 0, id, "JUSTID")
  end
end
return lost
"""

#: Publish progress to every waiter, from the owner only.
PROGRESS = (
    _FANOUT
    + """
local P, job_id, owner, stage, payload, tag, maxlen =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local jk = P.."job:"..job_id
if redis.call("HGET", jk, "owner") ~= owner or redis.call("HGET", jk, "state") ~= "running" then
  return -1
end
redis.call("HSET", jk, "stage", stage)
return fanout(P, job_id, "progress", tag, payload, maxlen, false)
"""
)

#: Save an audit's checkpoint, from the owner only.
CHECKPOINT = """
local P, job_id, owner, data, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local jk = P.."job:"..job_id
if redis.call("HGET", jk, "owner") ~= owner then return 0 end
redis.call("SET", jk..":ckpt", data, "EX", ttl)
return 1
"""

#: Store the outcome, fill cache and history, answer every waiter once, acknowledge the queue
#: entry. A second finish of the same job (a stale worker) only acknowledges. Returns the number
#: of answers sent, or -1 when the job was already answered.
FINISH = (
    _FANOUT
    + """
local P, job_id, msg_id, outcome, now, ok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]),
  ARGV[6] == "1"
local cache_ttl, retention, hist_max = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local platform, handle, maxlen, job_ttl = ARGV[10], ARGV[11], ARGV[12], tonumber(ARGV[13])
local stream, jk = P.."audits", P.."job:"..job_id
local function ack()
  if msg_id ~= "" then
    redis.call("XACK", stream, "workers", msg_id)
    redis.call("XDEL", stream, msg_id)
  end
end
local state = redis.call("HGET", jk, "state")
if state == "done" then ack() return -1 end
if state == "queued" then redis.call("DECR", P.."queued") end
local ret = math.ceil(retention)
redis.call("SET", P.."result:"..job_id, outcome, "EX", ret)
local ckey = redis.call("HGET", jk, "ckey") or ""
if ok and ckey ~= "" then
  if cache_ttl > 0 then
    redis.call("SET", P.."cache:"..ckey, job_id.."|"..now, "PX", math.ceil(cache_ttl * 1000))
  end
  local hk = P.."history:"..platform..":"..handle
  redis.call("ZADD", hk, now, job_id)
  local old = redis.call("ZRANGEBYSCORE", hk, "-inf", now - retention)
  local extra = redis.call("ZRANGE", hk, 0, -(hist_max + 1))
  for _, id in ipairs(old) do redis.call("DEL", P.."result:"..id) end
  for _, id in ipairs(extra) do
    if id ~= job_id then redis.call("DEL", P.."result:"..id) end
  end
  redis.call("ZREMRANGEBYSCORE", hk, "-inf", now - retention)
  redis.call("ZREMRANGEBYRANK", hk, 0, -(hist_max + 1))
  redis.call("EXPIRE", hk, ret)
end
local hkey = redis.call("HGET", jk, "hkey") or ""
if hkey ~= "" and redis.call("GET", P.."inflight:"..hkey) == redis.call("HGET", jk, "inflight") then
  redis.call("DEL", P.."inflight:"..hkey)
end
local n = fanout(P, job_id, "result", "r", outcome, maxlen, true)
redis.call("DEL", jk..":waiters", jk..":ckpt")
redis.call("HSET", jk, "state", "done", "stage", "done", "finished_at", now)
redis.call("EXPIRE", jk, job_ttl)
ack()
return n
"""
)

#: Platform API budget: one request under a sliding-window rate and a concurrency lease, and
#: for a budget kept per host (``max_hosts`` > 0) at most ``max_hosts`` hosts in flight (KEYS[3]:
#: host -> its latest lease). Returns 0 and takes a lease when allowed, else the seconds to wait.
BUDGET_ACQUIRE = """
local rk, ck, hk = KEYS[1], KEYS[2], KEYS[3]
local now, limit, win, conc, lease, token, host, max_hosts =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
  ARGV[6], ARGV[7], tonumber(ARGV[8])
redis.call("ZREMRANGEBYSCORE", ck, "-inf", now)
if redis.call("ZCARD", ck) >= conc then
  local first = redis.call("ZRANGE", ck, 0, 0, "WITHSCORES")
  return tostring(math.min(0.05, tonumber(first[2]) - now))
end
redis.call("ZREMRANGEBYSCORE", rk, "-inf", now - win)
if redis.call("ZCARD", rk) >= limit then
  local oldest = redis.call("ZRANGE", rk, 0, 0, "WITHSCORES")
  return tostring(tonumber(oldest[2]) + win - now)
end
if max_hosts > 0 then
  redis.call("ZREMRANGEBYSCORE", hk, "-inf", now)
  if not redis.call("ZSCORE", hk, host) and redis.call("ZCARD", hk) >= max_hosts then
    local first = redis.call("ZRANGE", hk, 0, 0, "WITHSCORES")
    return tostring(math.min(0.05, tonumber(first[2]) - now))
  end
  redis.call("ZADD", hk, now + lease, host)
  redis.call("PEXPIRE", hk, math.ceil(lease * 1000))
end
redis.call("ZADD", rk, now, token)
redis.call("PEXPIRE", rk, math.ceil(win * 1000))
redis.call("ZADD", ck, now + lease, token)
redis.call("PEXPIRE", ck, math.ceil(lease * 1000))
return "0"
"""

#: Release a lease of a budget kept per host: the host leaves the hosts in flight with its last.
BUDGET_RELEASE = """
local ck, hk = KEYS[1], KEYS[2]
local token, host, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call("ZREM", ck, token)
redis.call("ZREMRANGEBYSCORE", ck, "-inf", now)
if redis.call("ZCARD", ck) == 0 then
  redis.call("ZREM", hk, host)
end
return 0
"""

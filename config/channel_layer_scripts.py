"""The Redis scripts of the channel layer (config/channel_layer.py), each one round trip."""

# channels_redis' own cleanup: messages left in the backup queue by an interrupted receive go
# back to the main queue, in order. BZPOPMIN must not run inside a script.
RESTORE_BACKUP = """
    local backed_up = redis.call('ZRANGE', ARGV[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', ARGV[1], backed_up[i], backed_up[i - 1])
    end
    redis.call('DEL', ARGV[2])
"""
# One popped message back at its place in the main queue (and out of the backup queue).
PUT_BACK = """
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
"""


# A receive's pop when something is waiting, in one round trip: the previous message this
# process took (handed over since) leaves the backup queue, anything else left there by an
# interrupted receive goes back to the main queue, and the next message moves into the backup
# queue and is returned. Nothing waiting: false (the receive then blocks in BZPOPMIN).
POP = """
    if ARGV[1] ~= '' then
        redis.call('ZREM', KEYS[2], ARGV[1])
    end
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
    redis.call('DEL', KEYS[2])
    local popped = redis.call('ZPOPMIN', KEYS[1])
    if popped[1] then
        redis.call('ZADD', KEYS[2], popped[2], popped[1])
        return popped[1]
    end
    return false
"""

# A batch of pushes to groups in one call, with no read before it: for each item (its number of
# groups, then its message), the groups' live members give the process queues to reach (a
# member's name up to its "!"); each queue but the sender's own (`skip`: its sockets got the
# item directly) gets one copy, which names the groups, so the receiving process hands it to
# its own sockets in them (CancelSafeRedisChannelLayer.local_groups).
PUSH_TO_GROUPS = """
    local oldest, now = ARGV[1], tonumber(ARGV[2])
    local expiry, capacity = tonumber(ARGV[3]), tonumber(ARGV[4])
    local skip, prefix = ARGV[5], ARGV[6]
    local k, a, position, over_capacity = 1, 8, 0, 0
    for item = 1, tonumber(ARGV[7]) do
        local groups, body = tonumber(ARGV[a]), ARGV[a + 1]
        a = a + 2
        local queues, order = {}, {}
        for g = 1, groups do
            for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], oldest, '+inf')) do
                local bang = string.find(member, '!', 1, true)
                local queue = bang and string.sub(member, 1, bang) or member
                if queue ~= skip and not queues[queue] then
                    queues[queue] = true
                    order[#order + 1] = queue
                end
            end
            k = k + 1
        end
        for _, queue in ipairs(order) do
            local key = prefix .. queue
            position = position + 1
            redis.call('ZREMRANGEBYSCORE', key, 0, math.floor(now) - expiry)
            if redis.call('ZCOUNT', key, '-inf', '+inf') < capacity then
                redis.call('ZADD', key, now + position * 0.000001, body)
                redis.call('EXPIRE', key, expiry)
            else
                over_capacity = over_capacity + 1
            end
        end
    end
    return over_capacity
"""
GROUPS_KEY = "__rdv_groups__"  # in a message PUSH_TO_GROUPS sent: the groups it is for

# Many messages in one call: each key (a process's queue, with the list of its channels the
# message is for) first loses its expired messages (as channels_redis' sends do), then gets its
# message unless it is at capacity. Scores grow with the position, so a batch keeps its order.
SEND_BATCH = """
    local n = #KEYS
    local now = tonumber(ARGV[3 * n + 1])
    local expiry = tonumber(ARGV[3 * n + 2])
    local over_capacity = 0
    for i = 1, n do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
            redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2 * n + i]), ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""

"""Feature state in Redis, shared by any number of worker processes.

One Lua script per event reads the entity histories as they were and records the event, so
the read and the write are atomic and the script's order is the one true stream order (its
``order`` counter). The arithmetic then runs in Python over the returned histories, with the
same code as the in-process state (:mod:`riskloop.features.compute`): the two cannot differ.

Keys (``<prefix>`` names the feature set and its content, so a changed definition starts from
fresh state): ``t:<entity>:<key>`` history (sorted set, score = time in ms, member =
zero-padded order + JSON row), ``f:<entity>:<key>`` fraud-labelled times, ``idx``/``idxz``
the events inside the horizon (for duplicates and labels), ``max`` the latest event time,
``order`` the stream counter. Keys are built inside the scripts, so this needs a single Redis
(or one hash slot), not a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
import redis

from riskloop.domain.labels import Label
from riskloop.errors import StorageError
from riskloop.features.compute import EntityView
from riskloop.features.engine import EventInput, Snapshot, Touch, label_code, to_ms
from riskloop.features.plan import Plan

T = TypeVar("T")

# ARGV: prefix, event_id, ts, lateness, max_horizon, record, event_type, n, then per touch:
# "entity:key", horizon, label-counting (1/0), row JSON ("" when read-only).
_EXCHANGE = """
local p, eid = ARGV[1], ARGV[2]
local ts, lateness, maxh = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local record, etype, n = ARGV[6] == '1', ARGV[7], tonumber(ARGV[8])
local maxs = redis.call('GET', p .. 'max')
local order
if record then order = redis.call('INCR', p .. 'order')
else order = tonumber(redis.call('GET', p .. 'order') or '0') end
local rec = redis.call('HGET', p .. 'idx', eid)
if rec and maxs then
  local rts = tonumber(string.match(rec, '^([^\\t]*)'))
  if rts >= tonumber(maxs) - lateness - maxh then
    return {1, order, maxs}
  end
end
local out = {0, order, maxs or ''}
local newmax = ts
if maxs and tonumber(maxs) > ts then newmax = tonumber(maxs) end
local labelkeys = {}
for i = 0, n - 1 do
  local ek, h = ARGV[9 + i * 4], tonumber(ARGV[10 + i * 4])
  local counts_labels, row = ARGV[11 + i * 4], ARGV[12 + i * 4]
  local lo = '-inf'
  if maxs then lo = '(' .. (tonumber(maxs) - lateness - h) end
  out[#out + 1] = redis.call('ZRANGEBYSCORE', p .. 't:' .. ek, lo, ts, 'WITHSCORES')
  out[#out + 1] = redis.call('ZRANGEBYSCORE', p .. 'f:' .. ek, lo, ts, 'WITHSCORES')
  if record and row ~= '' then
    redis.call('ZADD', p .. 't:' .. ek, ts, string.format('%012d', order) .. '|' .. row)
    local cut = '(' .. (newmax - lateness - h)
    redis.call('ZREMRANGEBYSCORE', p .. 't:' .. ek, '-inf', cut)
    redis.call('ZREMRANGEBYSCORE', p .. 'f:' .. ek, '-inf', cut)
    if counts_labels == '1' then labelkeys[#labelkeys + 1] = ek end
  end
end
if record then
  redis.call('SET', p .. 'max', newmax)
  local code = '0'
  local pend = redis.call('HGET', p .. 'pend', eid)
  if pend then
    local arrived = redis.call('ZSCORE', p .. 'pendz', eid)
    redis.call('HDEL', p .. 'pend', eid)
    redis.call('ZREM', p .. 'pendz', eid)
    if arrived and tonumber(arrived) >= newmax - lateness - maxh then
      code = pend
      if tonumber(code) % 2 == 1 then
        for _, ek in ipairs(labelkeys) do redis.call('ZADD', p .. 'f:' .. ek, ts, eid) end
      end
    end
  end
  local keys = table.concat(labelkeys, '\\t')
  redis.call('HSET', p .. 'idx', eid, ts .. '\\t' .. code .. '\\t' .. keys)
  redis.call('ZADD', p .. 'idxz', ts, eid)
  local cut = '(' .. (newmax - lateness - maxh)
  local old = redis.call('ZRANGEBYSCORE', p .. 'idxz', '-inf', cut)
  for _, id in ipairs(old) do redis.call('HDEL', p .. 'idx', id) end
  redis.call('ZREMRANGEBYSCORE', p .. 'idxz', '-inf', cut)
  local gone = redis.call('ZRANGEBYSCORE', p .. 'pendz', '-inf', cut)
  for _, id in ipairs(gone) do redis.call('HDEL', p .. 'pend', id) end
  redis.call('ZREMRANGEBYSCORE', p .. 'pendz', '-inf', cut)
end
return out
"""

# ARGV: prefix, event_id, label code (tier * 2 + fraud), lateness, max_horizon, arrival ms.
# The idx record's second field is the event's label code (0: none). A label for an event not
# seen yet waits in pend/pendz until the event arrives (or falls out of the horizon).
_LABEL = """
local p, eid, code = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lateness, maxh, arrived = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local order = redis.call('INCR', p .. 'order')
local rec = redis.call('HGET', p .. 'idx', eid)
local maxs = redis.call('GET', p .. 'max')
if not rec or not maxs then
  local held = redis.call('HGET', p .. 'pend', eid)
  if not held or math.floor(code / 2) >= math.floor(tonumber(held) / 2) then
    redis.call('HSET', p .. 'pend', eid, code)
    redis.call('ZADD', p .. 'pendz', arrived, eid)
  end
  return order
end
local parts, start = {}, 1
while true do
  local i = string.find(rec, '\t', start, true)
  if not i then parts[#parts + 1] = string.sub(rec, start); break end
  parts[#parts + 1] = string.sub(rec, start, i - 1)
  start = i + 1
end
local rts, cur = tonumber(parts[1]), tonumber(parts[2])
if rts < tonumber(maxs) - lateness - maxh then return order end
if cur > 0 and math.floor(code / 2) < math.floor(cur / 2) then return order end
parts[2] = tostring(code)
if code % 2 ~= cur % 2 then
  for i = 3, #parts do
    if parts[i] ~= '' then
      if code % 2 == 1 then redis.call('ZADD', p .. 'f:' .. parts[i], rts, eid)
      else redis.call('ZREM', p .. 'f:' .. parts[i], eid) end
    end
  end
end
redis.call('HSET', p .. 'idx', eid, table.concat(parts, '\\t'))
return order
"""


def _pairs(flat: list[Any]) -> tuple[list[int], list[bytes]]:
    members = flat[0::2]
    scores = [int(float(s)) for s in flat[1::2]]
    return scores, members


class RedisState:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._exchange = client.register_script(_EXCHANGE)
        self._label = client.register_script(_LABEL)

    @classmethod
    def connect(cls, url: str, *, prefix: str) -> RedisState:
        return cls(redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30), prefix)

    def exchange(
        self,
        event: EventInput,
        touches: Sequence[Touch],
        plan: Plan,
        compute: Callable[[Snapshot], T],
        *,
        record: bool = True,
    ) -> T:
        args: list[Any] = [
            self._prefix,
            event.event_id,
            event.ts,
            plan.lateness,
            plan.max_horizon,
            "1" if record else "0",
            event.event_type,
            len(touches),
        ]
        for t in touches:
            labels = "1" if event.event_type in t.plan.labelled else "0"
            row = orjson.dumps(t.row).decode() if t.row is not None else ""
            args += [f"{t.plan.entity}:{t.key}", t.plan.horizon, labels, row]
        try:
            reply = self._exchange(args=args)
        except redis.RedisError as exc:
            raise StorageError(f"feature state unavailable: {type(exc).__name__}") from exc
        duplicate, order, maxs = int(reply[0]), int(reply[1]), reply[2]
        max_before = float(maxs) if maxs not in (b"", "", None) else float("-inf")
        if duplicate:
            return compute(Snapshot(True, order, max_before, {}))
        views: dict[str, EntityView] = {}
        for i, t in enumerate(touches):
            ts, members = _pairs(reply[3 + 2 * i])
            fraud, _ = _pairs(reply[4 + 2 * i])
            if ts or fraud:
                rows = [tuple(orjson.loads(m[13:])) for m in members]
                floor = max_before - plan.lateness - t.plan.horizon
                views[t.plan.entity] = EntityView(ts, rows, fraud, floor)
        return compute(Snapshot(False, order, max_before, views))

    def label(self, label: Label, plan: Plan) -> int:
        try:
            return int(
                self._label(
                    args=[
                        self._prefix,
                        label.event_id,
                        label_code(label),
                        plan.lateness,
                        plan.max_horizon,
                        to_ms(label.arrived_at),
                    ]
                )
            )
        except redis.RedisError as exc:
            raise StorageError(f"feature state unavailable: {type(exc).__name__}") from exc

    def reset(self) -> None:
        """Delete every key of this feature set (before a rebuild)."""
        for key in self._redis.scan_iter(match=self._prefix + "*", count=1000):
            self._redis.delete(key)

    def close(self) -> None:
        self._redis.close()

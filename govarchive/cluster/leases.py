"""The shared frontier of one run: a priority queue, a fingerprint set and leases, each step one Lua script.

scrapy-redis pops a request out of Redis and marks its fingerprint seen; if the worker dies before the request is
done, nothing brings it back (the duplicate filter even blocks it from being found again). Here a pop *moves* the
request into the run's lease hash under ``<worker>#<n>``; the worker deletes the lease once everything the request
produced (items, follow-up requests) is in Redis, and :meth:`RunQueue.reap` moves the leases of workers whose
heartbeat key expired back into the queue. Enqueueing marks the fingerprint and queues the request in one script,
so a worker killed in between cannot leave a request "seen" but nowhere.
"""

from __future__ import annotations

import logging
from typing import Any

from govarchive.cluster import CRAWLED, OPEN, RunKeys

logger = logging.getLogger(__name__)

_PUSH = """
if ARGV[4] == '1' or redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""

_POP = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #item == 0 then return false end
redis.call('ZREM', KEYS[1], item[1])
local id = ARGV[1] .. '#' .. redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[2], id, item[2] .. '\\n' .. item[1])
return {id, item[1]}
"""

_REQUEUE = """
local n = 0
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    local nl = string.find(v, '\\n', 1, true)
    redis.call('ZADD', KEYS[2], string.sub(v, 1, nl - 1), string.sub(v, nl + 1))
    redis.call('HDEL', KEYS[1], id)
    n = n + 1
  end
end
return n
"""

# The run is crawled when it was seeded and nothing is queued or leased: only a leased request can create new work,
# and it does so before its lease is deleted, so this state is final. Checked and marked in one step. A run hash
# with another token (or none) means the archiver closed this run already.
_FINISH = """
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[1] then return 1 end
if redis.call('HGET', KEYS[3], 'state') == ARGV[3] then return 1 end
if redis.call('HGET', KEYS[3], 'state') ~= ARGV[2] or redis.call('HGET', KEYS[3], 'seeded') ~= '1' then return 0 end
if redis.call('ZCARD', KEYS[1]) > 0 or redis.call('HLEN', KEYS[2]) > 0 then return 0 end
redis.call('HSET', KEYS[3], 'state', ARGV[3])
return 1
"""


class RunQueue:
    """Queue, duplicate filter and leases of one run (``keys``) on a redis-py ``client``."""

    def __init__(self, client: Any, keys: RunKeys) -> None:
        self.client = client
        self.keys = keys
        self._push = client.register_script(_PUSH)
        self._pop = client.register_script(_POP)
        self._requeue = client.register_script(_REQUEUE)
        self._finish = client.register_script(_FINISH)

    def push(self, data: bytes, *, fingerprint: str, priority: int = 0, dont_filter: bool = False) -> bool:
        """Queue a serialized request unless its fingerprint was seen in this run; returns whether it was queued."""
        score = -priority  # scrapy-redis' layout: the lowest score pops first
        return bool(self._push(keys=[self.keys.dupefilter, self.keys.queue],
                               args=[fingerprint, score, data, "1" if dont_filter else "0"]))

    def pop(self, worker: str) -> tuple[str, bytes] | None:
        """Take the highest-priority request into a lease of ``worker``: ``(lease id, data)``, or ``None``."""
        found = self._pop(keys=[self.keys.queue, self.keys.leases, self.keys.lease_seq], args=[worker])
        if not found:
            return None
        lease, data = found
        return (lease.decode() if isinstance(lease, bytes) else lease), data

    def ack(self, leases: list[str]) -> int:
        """Delete finished leases; returns how many were still held (a reaped lease is gone already)."""
        return int(self.client.hdel(self.keys.leases, *leases)) if leases else 0

    def requeue(self, leases: list[str]) -> int:
        """Put leased requests back into the queue (as they were: same bytes, same priority)."""
        return int(self._requeue(keys=[self.keys.leases, self.keys.queue], args=leases)) if leases else 0

    def held_by(self, worker: str) -> list[str]:
        """Lease ids currently held by ``worker``."""
        prefix = f"{worker}#"
        return [lease for lease in self._lease_ids() if lease.startswith(prefix)]

    def _lease_ids(self) -> list[str]:
        return [k.decode() if isinstance(k, bytes) else k for k in self.client.hkeys(self.keys.leases)]

    def reap(self) -> dict[str, int]:
        """Requeue the leases of every worker whose heartbeat expired; returns the requests given back per worker."""
        by_worker: dict[str, list[str]] = {}
        for lease in self._lease_ids():
            by_worker.setdefault(lease.rsplit("#", 1)[0], []).append(lease)
        returned: dict[str, int] = {}
        for worker, leases in by_worker.items():
            if not self.client.exists(RunKeys.heartbeat(worker, self.keys.prefix)):
                returned[worker] = self.requeue(leases)
        if sum(returned.values()):
            self.client.incrby(RunKeys.counter("requeued", self.keys.prefix), sum(returned.values()))
            logger.warning("run %s of %s: gave %s back to the queue (heartbeat stopped)", self.keys.token,
                           self.keys.portal, ", ".join(f"{n} request(s) of {w}" for w, n in returned.items()))
        return returned

    def queued(self) -> int:
        """Requests waiting in the queue."""
        return int(self.client.zcard(self.keys.queue))

    def leased(self) -> int:
        """Requests taken by workers and not done yet."""
        return int(self.client.hlen(self.keys.leases))

    def try_finish(self) -> bool:
        """Mark the run crawled if it was seeded and nothing is queued or leased; True once it is crawled."""
        return self._finish(keys=[self.keys.queue, self.keys.leases, self.keys.run],
                            args=[self.keys.token, OPEN, CRAWLED]) == 1

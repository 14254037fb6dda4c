"""The spool seen from the event loop: every call runs on one private thread.

Spool operations may touch the disk (LMDB commits fsync); running them on a dedicated thread keeps
the event loop, and so every other destination, responsive, and serialises spool access.
"""

import asyncio
import functools
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sentinel_domain.alert import Alert
from sentinel_ports.alert_spool import AlertSpool, SpooledAlert

T = TypeVar("T")


class AsyncSpool:
    def __init__(self, spool: AlertSpool) -> None:
        self.spool = spool
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-spool")

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def put(self, destination: str, alerts: Sequence[Alert], enqueued_ns: int) -> int:
        return await self._call(self.spool.put, destination, alerts, enqueued_ns)

    async def peek(self, destination: str, limit: int) -> list[SpooledAlert]:
        return await self._call(self.spool.peek, destination, limit)

    async def remove(self, destination: str, seqs: Collection[int]) -> int:
        return await self._call(self.spool.remove, destination, seqs)

    async def expire(self, destination: str, older_than_ns: int) -> int:
        return await self._call(self.spool.expire, destination, older_than_ns)

    async def depth(self, destination: str) -> int:
        return await self._call(self.spool.depth, destination)

    async def destinations(self) -> list[str]:
        return await self._call(self.spool.destinations)

    async def close(self) -> None:
        """Close the spool on its own thread, then stop the thread."""
        await self._call(self.spool.close)
        self._executor.shutdown(wait=True)

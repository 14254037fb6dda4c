"""Applies the IPS engine's decisions to the kernel blocklist, and expires them.

The engine (domain) decides; this service owns the IPS state, serialises access to it, and
turns every BlockDecision/UnblockDecision into a Blocklist port call. ``sweep`` is called
periodically (and before answering list requests) so TTLs expire in the kernel too.
"""

import threading
from collections.abc import Callable

from sentinel_domain.common import IpAddress, IpNetwork
from sentinel_domain.ips import BlacklistAlert, BlacklistEntry, Detection, IpsEngine, IpsOutcome, IpsState
from sentinel_ports.blocklist import Blocklist


class IpsEnforcer:
    def __init__(self, engine: IpsEngine, blocklist: Blocklist, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._blocklist = blocklist
        self._clock = clock
        self._state = IpsState()
        self._lock = threading.Lock()
        self.blocks_applied = 0
        self.unblocks_applied = 0

    def detection(self, detection: Detection) -> list[BlacklistAlert]:
        """Count one detection; returns the auto-blacklist alerts it caused (maybe none)."""
        with self._lock:
            return self._apply(self._engine.record_detection(self._state, detection, self._clock()))

    def add_manual(
        self, target: IpAddress | IpNetwork, ttl_secs: int | None = None, reason: str | None = None
    ) -> BlacklistEntry:
        """Blacklist by hand; raises the engine's refusal errors (whitelisted, duplicate, full)."""
        with self._lock:
            outcome = self._engine.add_manual(self._state, target, self._clock(), ttl_secs, reason)
            self._apply(outcome)
            return outcome.added[0]

    def remove(self, target: IpAddress | IpNetwork) -> None:
        """Remove an entry; raises the engine's NotBlacklistedError when absent."""
        with self._lock:
            self._apply(self._engine.remove(self._state, target))

    def sweep(self) -> int:
        """Expire entries whose TTL ran out; returns how many were removed from the kernel."""
        with self._lock:
            outcome = self._engine.sweep(self._state, self._clock())
            self._apply(outcome)
            return len(outcome.unblocks)

    def entries(self) -> list[BlacklistEntry]:
        with self._lock:
            return self._engine.entries(self._state, self._clock())

    def _apply(self, outcome: IpsOutcome) -> list[BlacklistAlert]:
        if len(outcome.blocks) == 1:
            self._blocklist.block(outcome.blocks[0].network)
        elif outcome.blocks:  # a resync re-issues every live entry: write them in bulk
            self._blocklist.block_many(block.network for block in outcome.blocks)
        self.blocks_applied += len(outcome.blocks)
        for unblock in outcome.unblocks:
            self._blocklist.unblock(unblock.network)
            self.unblocks_applied += 1
        return list(outcome.alerts)

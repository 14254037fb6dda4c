"""The IPS engine: detection counting, auto-blacklisting, manual entries, expiry (contract §7.4).

The engine owns no state and reads no clock: the caller passes an :class:`IpsState` and ``now``
(float Unix-epoch seconds) and applies the returned decisions to the kernel blocklist.

Semantics:
- a detection counts toward its source unless the IPS is disabled, the source is whitelisted, or
  it comes from a prevention rule in alert mode;
- counting window = ``max_blacklist_duration_secs``: when ``now - first_seen >= window`` the count
  restarts at this detection;
- when ``count >= threshold`` (the country's threshold when the source's country is listed) the
  counter is cleared and the source is blacklisted for ``max_blacklist_duration_secs`` with reason
  ``auto-blacklisted: detection threshold reached``, raising one high-severity alert with rule id
  ``ips-blacklist:<ip>``; a listed country also blocks the source's /24 (v4) or /48 (v6) once;
- an address already on the blacklist is not added again (no second alert); a full blacklist
  refuses the add (``refused``), nothing is evicted;
- whitelisted addresses are never blocked: a whitelist entry matches only its own family, and a
  subnet (manual or country) that overlaps any whitelist entry is refused too;
- every TTL is capped at ``max_blacklist_duration_secs``; expired entries no longer count as
  blocked or toward the size cap, and :meth:`IpsEngine.sweep` turns them into unblock decisions.
"""

import heapq
import ipaddress
from collections import OrderedDict
from dataclasses import dataclass, field

from sentinel_domain.common.addresses import IpAddress, IpNetwork
from sentinel_domain.ips.entity import (
    AUTO_REASON,
    COUNTRY_SUBNET_V4,
    COUNTRY_SUBNET_V6,
    MANUAL_REASON,
    MAX_REASON_LENGTH,
    BlacklistAlert,
    BlacklistEntry,
    BlockDecision,
    Detection,
    IpsMode,
    IpsOutcome,
    IpsPolicy,
    UnblockDecision,
    as_network,
    display,
)
from sentinel_domain.ips.errors import (
    AlreadyBlacklistedError,
    BlacklistFullError,
    IpsConfigError,
    NotBlacklistedError,
    WhitelistedError,
)

DEFAULT_MAX_TRACKED = 65_536


@dataclass(slots=True)
class _Counter:
    count: int
    first_seen: float


@dataclass(slots=True)
class IpsState:
    """Detection counters and the blacklist, owned by the caller (in memory; lost on restart).

    At most ``max_tracked_sources`` counters are kept; beyond that the oldest window is forgotten.
    """

    max_tracked_sources: int = DEFAULT_MAX_TRACKED
    counters: "OrderedDict[IpAddress, _Counter]" = field(default_factory=OrderedDict)
    entries: dict[IpNetwork, BlacklistEntry] = field(default_factory=dict)
    # (expires_at, insertion number, network) of every insert, soonest first, so expiring is not
    # a scan of the whole blacklist on each add. Items of removed or replaced entries are
    # skipped when they surface.
    expiry: list[tuple[float, int, IpNetwork]] = field(default_factory=list)
    inserted: int = 0

    def detection_count(self, src: IpAddress) -> int:
        counter = self.counters.get(src)
        return counter.count if counter is not None else 0


@dataclass(frozen=True, slots=True)
class IpsEngine:
    policy: IpsPolicy = field(default_factory=IpsPolicy)

    # -- whitelist -------------------------------------------------------------------------
    def is_whitelisted(self, target: IpAddress | IpNetwork) -> bool:
        """True when an address is inside, or a network overlaps, a whitelist entry of its family."""
        if isinstance(target, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return any(w.version == target.version and target in w for w in self.policy.whitelist)
        return any(w.version == target.version and w.overlaps(target) for w in self.policy.whitelist)

    # -- queries ---------------------------------------------------------------------------
    def is_blocked(self, state: IpsState, addr: IpAddress, now: float) -> BlacklistEntry | None:
        """The live entry blocking ``addr`` (its host entry first, else the longest subnet)."""
        host = state.entries.get(ipaddress.ip_network(addr))
        if host is not None and host.expires_at > now:
            return host
        best: BlacklistEntry | None = None
        best_len = -1
        for net, entry in state.entries.items():
            live = entry.expires_at > now and net.prefixlen > best_len
            if live and net.version == addr.version and addr in net:
                best, best_len = entry, net.prefixlen
        return best

    def entries(self, state: IpsState, now: float) -> list[BlacklistEntry]:
        """Live entries, oldest first."""
        live = [e for e in state.entries.values() if e.expires_at > now]
        return sorted(live, key=lambda e: e.added_at)

    # -- detections ------------------------------------------------------------------------
    def record_detection(self, state: IpsState, detection: Detection, now: float) -> IpsOutcome:
        """Count one detection and blacklist its source when the threshold is reached."""
        policy = self.policy
        src = detection.src
        if not policy.enabled or self.is_whitelisted(src):
            return IpsOutcome()
        if detection.prevention and detection.rule_mode is IpsMode.ALERT:
            return IpsOutcome()
        window = policy.max_blacklist_duration_secs
        counter = state.counters.get(src)
        if counter is None or now - counter.first_seen >= window:
            state.counters.pop(src, None)
            counter = state.counters[src] = _Counter(0, now)
            while len(state.counters) > state.max_tracked_sources:
                state.counters.popitem(last=False)
        counter.count += 1
        country = (detection.country or "").upper()
        threshold = policy.country_thresholds.get(country, policy.auto_blacklist_threshold)
        if counter.count < threshold:
            return IpsOutcome()
        del state.counters[src]
        targets: list[IpNetwork] = [ipaddress.ip_network(src)]
        if country in policy.country_thresholds:
            plen = COUNTRY_SUBNET_V4 if src.version == 4 else COUNTRY_SUBNET_V6
            targets.append(ipaddress.ip_network(f"{src}/{plen}", strict=False))
        added: list[BlacklistEntry] = []
        refused: list[str] = []
        unblocks = self._purge_expired(state, now)
        for net in targets:
            live = state.entries.get(net)
            if live is not None and live.expires_at > now:
                continue
            if net.prefixlen != net.max_prefixlen and self.is_whitelisted(net):
                refused.append(f"{net}: overlaps the whitelist")
                continue
            if len(state.entries) >= policy.max_blacklist_size:
                refused.append(f"{display(net)}: blacklist full ({policy.max_blacklist_size} entries)")
                continue
            entry = BlacklistEntry(display(net), AUTO_REASON, now, now + window, True)
            added.append(self._insert(state, entry))
        alerts = tuple(
            BlacklistAlert(src, f"ips-blacklist:{src}", f"IPS auto-blacklist: {src}")
            for e in added
            if e.addr_or_net == src
        )
        return self._outcome(added, unblocks, alerts, refused)

    # -- manual entries ----------------------------------------------------------------------
    def add_manual(
        self,
        state: IpsState,
        target: IpAddress | IpNetwork,
        now: float,
        ttl_secs: int | None = None,
        reason: str | None = None,
    ) -> IpsOutcome:
        """Blacklist an address or network by hand (API, DNS blocklist, reputation).

        ``ttl_secs`` defaults to and is capped at ``max_blacklist_duration_secs``; ``reason``
        defaults to ``manual-api``. Raises WhitelistedError, AlreadyBlacklistedError or
        BlacklistFullError when refused, IpsConfigError for a bad TTL or reason.
        """
        cap = self.policy.max_blacklist_duration_secs
        if ttl_secs is None:
            ttl = cap
        elif isinstance(ttl_secs, bool) or not isinstance(ttl_secs, int) or ttl_secs < 1:
            raise IpsConfigError(f"ttl_secs '{ttl_secs}' out of range 1-{cap}", "ttl_secs")
        else:
            ttl = min(ttl_secs, cap)
        text = MANUAL_REASON if reason is None or not reason.strip() else reason.strip()
        if len(text) > MAX_REASON_LENGTH or not text.isprintable():
            raise IpsConfigError(f"reason must be 1-{MAX_REASON_LENGTH} printable characters", "reason")
        net = as_network(target)
        if self.is_whitelisted(net):
            raise WhitelistedError(f"{display(net)} is whitelisted and cannot be blacklisted")
        live = state.entries.get(net)
        if live is not None and live.expires_at > now:
            raise AlreadyBlacklistedError(f"{display(net)} is already blacklisted")
        unblocks = self._purge_expired(state, now)
        if len(state.entries) >= self.policy.max_blacklist_size:
            size = self.policy.max_blacklist_size
            raise BlacklistFullError(f"blacklist full ({size} entries): {display(net)} refused")
        entry = self._insert(state, BlacklistEntry(display(net), text, now, now + ttl, False))
        return self._outcome([entry], unblocks, (), [])

    def remove(self, state: IpsState, target: IpAddress | IpNetwork) -> IpsOutcome:
        """Remove an entry (any cause); raises NotBlacklistedError when absent."""
        net = as_network(target)
        if state.entries.pop(net, None) is None:
            raise NotBlacklistedError(f"{display(net)} is not blacklisted")
        return IpsOutcome(unblocks=(UnblockDecision(display(net), "removed"),))

    # -- maintenance -----------------------------------------------------------------------
    def sweep(self, state: IpsState, now: float) -> IpsOutcome:
        """Expire entries whose TTL has passed and forget counters whose window has closed."""
        window = self.policy.max_blacklist_duration_secs
        for src in [s for s, c in state.counters.items() if now - c.first_seen >= window]:
            del state.counters[src]
        return IpsOutcome(unblocks=tuple(self._purge_expired(state, now)))

    def resync(self, state: IpsState, now: float) -> IpsOutcome:
        """After a reload or restart of the datapath: drop expired and newly whitelisted entries
        (unblocks) and, in block mode, re-issue a block for every live entry with its remaining TTL."""
        unblocks = self._purge_expired(state, now)
        for net in [n for n in state.entries if self.is_whitelisted(n)]:
            del state.entries[net]
            unblocks.append(UnblockDecision(display(net), "whitelisted"))
        blocks: tuple[BlockDecision, ...] = ()
        if self.policy.mode is IpsMode.BLOCK:
            blocks = tuple(
                BlockDecision(e.addr_or_net, e.ttl_remaining(now), e.reason, e.auto_generated)
                for e in state.entries.values()
            )
        return IpsOutcome(blocks=blocks, unblocks=tuple(unblocks))

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _purge_expired(state: IpsState, now: float) -> list[UnblockDecision]:
        unblocks: list[UnblockDecision] = []
        while state.expiry and state.expiry[0][0] <= now:
            _, _, net = heapq.heappop(state.expiry)
            entry = state.entries.get(net)
            if entry is not None and entry.expires_at <= now:
                del state.entries[net]
                unblocks.append(UnblockDecision(display(net), "expired"))
        return unblocks

    @staticmethod
    def _insert(state: IpsState, entry: BlacklistEntry) -> BlacklistEntry:
        net = as_network(entry.addr_or_net)
        state.entries[net] = entry
        state.inserted += 1
        heapq.heappush(state.expiry, (entry.expires_at, state.inserted, net))
        return entry

    def _outcome(
        self,
        added: list[BlacklistEntry],
        unblocks: list[UnblockDecision],
        alerts: tuple[BlacklistAlert, ...],
        refused: list[str],
    ) -> IpsOutcome:
        blocks: tuple[BlockDecision, ...] = ()
        if self.policy.mode is IpsMode.BLOCK:
            blocks = tuple(
                BlockDecision(e.addr_or_net, round(e.expires_at - e.added_at), e.reason, e.auto_generated)
                for e in added
            )
        return IpsOutcome(tuple(added), blocks, tuple(unblocks), alerts, tuple(refused))

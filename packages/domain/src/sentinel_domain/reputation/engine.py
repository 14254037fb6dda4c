"""Domain reputation from observed DNS behaviour and hits (contract §7.9, deviation 10).

Every factor is fed by an ``observe_*`` call with the observation time ``now`` (float seconds on
any clock the caller keeps consistent; the engine never reads one). Each call updates the score,
``1 - prod(1 - w_i)`` over the active factor kinds, and, when auto-block is enabled, returns the
decisions it causes. The effective score decays as ``score * 2^(-(now - last_seen) / half_life)``.
"""

import heapq
from collections import deque

from sentinel_domain.reputation._names import is_dga_like
from sentinel_domain.reputation.entity import (
    AutoBlock,
    AutoUnblock,
    DomainReputation,
    FactorKind,
    ReputationAlert,
    ReputationConfig,
    ReputationDecision,
)

RCODE_NOERROR = 0
RCODE_NXDOMAIN = 3
# Counters are halved past this many responses, so ratios follow recent behaviour.
_COUNTER_HALVING = 1000
# Event factors: once seen they stay until the domain is forgotten (the score still decays).
_STICKY = (
    FactorKind.BLOCKLIST_HIT,
    FactorKind.CTI_MATCH,
    FactorKind.L7_RULE_MATCH,
    FactorKind.HIGH_RISK_COUNTRY,
)


class _DomainState:
    __slots__ = (
        "blocked",
        "dga_like",
        "factors",
        "first_seen",
        "last_burst",
        "last_seen",
        "nxdomain",
        "queries",
        "resolutions",
        "responses",
        "score",
        "short_ttl",
        "sticky",
    )

    def __init__(self, domain: str, now: float, burst_queries: int) -> None:
        self.dga_like = is_dga_like(domain)
        self.first_seen = now
        self.last_seen = now
        self.queries: deque[float] = deque(maxlen=burst_queries)
        self.last_burst: float | None = None
        self.responses = 0
        self.nxdomain = 0
        self.resolutions = 0
        self.short_ttl = 0
        self.sticky: set[FactorKind] = set()
        self.factors: frozenset[FactorKind] = frozenset()
        self.score = 0.0
        self.blocked = False


def _key(domain: str) -> str:
    key = domain.strip().lower()
    return key[:-1] if key.endswith(".") else key


class ReputationEngine:
    """Per-domain reputation state, bounded by ``max_tracked_domains``.

    Over capacity, the lowest effective scores are evicted in a batch of 5 % of the capacity
    (one selection per batch instead of one scan per new domain; ties go to the least recently
    seen).
    An evicted domain starts afresh if seen again. Evicting a blocked domain emits no unblock:
    its IPs leave the blacklist when their TTL ends.
    """

    def __init__(self, config: ReputationConfig | None = None) -> None:
        self.config = config or ReputationConfig()
        self._states: dict[str, _DomainState] = {}

    def __len__(self) -> int:
        return len(self._states)

    # -- observations -----------------------------------------------------------------------

    def observe_query(self, domain: str, now: float) -> list[ReputationDecision]:
        """A query for ``domain`` was seen (feeds FREQUENT_QUERIES and YOUNG_DOMAIN)."""
        state = self._state(domain, now)
        if state is None:
            return []
        state.queries.append(now)
        cfg = self.config
        if len(state.queries) == cfg.burst_queries and now - state.queries[0] <= cfg.burst_window_secs:
            state.last_burst = now
        return self._update(_key(domain), state, now)

    def observe_response(
        self, domain: str, rcode: int, ttl: int | None, now: float
    ) -> list[ReputationDecision]:
        """A response for ``domain``: ``rcode`` from the header, ``ttl`` the smallest answer TTL.

        NXDOMAIN feeds NXDOMAIN_RATIO; a NOERROR response with answers (``ttl`` not None) is a
        resolution and feeds SHORT_TTL. Other rcodes only count as responses.
        """
        state = self._state(domain, now)
        if state is None:
            return []
        state.responses += 1
        if rcode == RCODE_NXDOMAIN:
            state.nxdomain += 1
        elif rcode == RCODE_NOERROR and ttl is not None:
            state.resolutions += 1
            state.short_ttl += ttl < self.config.short_ttl_secs
        if state.responses > _COUNTER_HALVING:
            state.responses //= 2
            state.nxdomain //= 2
            state.resolutions //= 2
            state.short_ttl //= 2
        return self._update(_key(domain), state, now)

    def observe_blocklist_hit(self, domain: str, now: float) -> list[ReputationDecision]:
        """The DNS blocklist matched ``domain``."""
        return self._sticky(domain, FactorKind.BLOCKLIST_HIT, now)

    def observe_ioc_hit(self, domain: str, now: float) -> list[ReputationDecision]:
        """A threat-intelligence IOC matched ``domain`` (or an address it resolved to)."""
        return self._sticky(domain, FactorKind.CTI_MATCH, now)

    def observe_l7_match(self, domain: str, now: float) -> list[ReputationDecision]:
        """An L7 rule (host/SNI) matched traffic to ``domain``."""
        return self._sticky(domain, FactorKind.L7_RULE_MATCH, now)

    def observe_high_risk_country(self, domain: str, now: float) -> list[ReputationDecision]:
        """``domain`` resolved to an address located in a configured high-risk country."""
        return self._sticky(domain, FactorKind.HIGH_RISK_COUNTRY, now)

    # -- queries and maintenance ------------------------------------------------------------

    def effective_score(self, domain: str, now: float) -> float:
        """The decayed score of ``domain`` (0.0 when not tracked)."""
        state = self._states.get(_key(domain))
        return self._effective(state, now) if state is not None else 0.0

    def get(self, domain: str, now: float) -> DomainReputation | None:
        key = _key(domain)
        state = self._states.get(key)
        return self._snapshot(key, state, now) if state is not None else None

    def top(self, n: int, now: float) -> list[DomainReputation]:
        """The ``n`` domains with the highest effective score."""
        best = heapq.nlargest(n, self._states.items(), key=lambda kv: self._effective(kv[1], now))
        return [self._snapshot(key, state, now) for key, state in best]

    def blocked_domains(self) -> list[str]:
        return sorted(key for key, state in self._states.items() if state.blocked)

    def reevaluate(self, now: float) -> list[ReputationDecision]:
        """Unblock domains whose decayed score fell below the threshold (run periodically)."""
        out: list[ReputationDecision] = []
        for key, state in self._states.items():
            if state.blocked:
                effective = self._effective(state, now)
                if effective < self.config.auto_block_threshold:
                    state.blocked = False
                    out.append(AutoUnblock(key, effective))
        return out

    def forget(self, domain: str) -> bool:
        return self._states.pop(_key(domain), None) is not None

    # -- internals --------------------------------------------------------------------------

    def _state(self, domain: str, now: float) -> _DomainState | None:
        key = _key(domain)
        if not key:
            return None
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= self.config.max_tracked_domains:
                self._evict(now)
            state = _DomainState(key, now, self.config.burst_queries)
            self._states[key] = state
        return state

    def _sticky(self, domain: str, kind: FactorKind, now: float) -> list[ReputationDecision]:
        state = self._state(domain, now)
        if state is None:
            return []
        state.sticky.add(kind)
        return self._update(_key(domain), state, now)

    def _factors(self, state: _DomainState, now: float) -> frozenset[FactorKind]:
        cfg = self.config
        active = set(state.sticky)
        if state.dga_like:
            active.add(FactorKind.HIGH_ENTROPY)
        if state.resolutions >= cfg.short_ttl_min_resolutions and 2 * state.short_ttl >= state.resolutions:
            active.add(FactorKind.SHORT_TTL)
        if (
            state.responses >= cfg.nxdomain_min_responses
            and state.nxdomain >= cfg.nxdomain_ratio * state.responses
        ):
            active.add(FactorKind.NXDOMAIN_RATIO)
        if state.last_burst is not None and now - state.last_burst <= cfg.burst_hold_secs:
            active.add(FactorKind.FREQUENT_QUERIES)
        if now - state.first_seen < cfg.young_domain_secs:
            active.add(FactorKind.YOUNG_DOMAIN)
        return frozenset(active)

    def _update(self, key: str, state: _DomainState, now: float) -> list[ReputationDecision]:
        state.last_seen = max(state.last_seen, now)
        state.factors = self._factors(state, now)
        remaining = 1.0
        for kind in state.factors:
            remaining *= 1.0 - self.config.weights[kind]
        state.score = 1.0 - remaining
        cfg = self.config
        if not cfg.auto_block_enabled:
            return []
        if state.score >= cfg.auto_block_threshold:
            alert = None if state.blocked else self._alert(key, state)
            state.blocked = True
            return [AutoBlock(key, state.score, cfg.auto_block_ttl_secs, alert)]
        if state.blocked:
            state.blocked = False
            return [AutoUnblock(key, state.score)]
        return []

    def _alert(self, key: str, state: _DomainState) -> ReputationAlert:
        reasons = ", ".join(sorted(kind.value for kind in state.factors))
        return ReputationAlert(
            rule_id=f"dns-reputation:{state.score:.2f}",
            matched_domain=key,
            message=(
                f"Domain {key} auto-blocked: reputation score {state.score:.2f} >= "
                f"{self.config.auto_block_threshold:.2f} ({reasons})"
            ),
        )

    def _effective(self, state: _DomainState, now: float) -> float:
        elapsed = max(0.0, now - state.last_seen)
        return float(state.score * 2.0 ** (-elapsed / self.config.decay_half_life_secs))

    def _evict(self, now: float) -> None:
        batch = max(1, self.config.max_tracked_domains // 20)
        victims = heapq.nsmallest(
            batch, self._states.items(), key=lambda kv: (self._effective(kv[1], now), kv[1].last_seen)
        )
        for key, _ in victims:
            del self._states[key]

    def _snapshot(self, key: str, state: _DomainState, now: float) -> DomainReputation:
        return DomainReputation(
            domain=key,
            score=state.score,
            effective_score=self._effective(state, now),
            factors=tuple(sorted(state.factors, key=lambda kind: kind.value)),
            first_seen=state.first_seen,
            last_seen=state.last_seen,
            responses=state.responses,
            nxdomain=state.nxdomain,
            resolutions=state.resolutions,
            blocked=state.blocked,
        )

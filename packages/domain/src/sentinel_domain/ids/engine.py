"""The IDS engine (contract §7.3, deviation 16): YAML rules and a Suricata/Snort subset, one matcher.

Every YAML ``pattern`` and every signature ``content``/``pcre`` of a rule set goes into ONE
PatternMatcher database (identical patterns are shared). Per payload event:
1. the payload is scanned once; the (end, id) reports are grouped by pattern;
2. signatures whose anchor pattern (their longest content, else their first pcre) was reported,
   plus signatures without content, are checked: header, ``flow``, then every condition with its
   positional modifiers (``_content``);
3. if a matching signature's action is ``pass``, the event raises no alert at all and no threshold
   counts it (Suricata's pass: the packet is let through unexamined);
4. the first enabled YAML rule in array order with a pattern, a matching protocol, and
   ``dst_port == event.dst_port`` or ``src_port == event.src_port``, whose pattern was reported,
   fires (contract: one YAML rule per capture); every matching signature fires too;
5. thresholds (caller-owned ThresholdState, explicit ``now_ns``) decide which of those alert.
Port-only YAML rules fire from kernel events (``on_kernel_match``), never from payloads.

Severity of a signature comes from its priority (``priority`` option, else its classtype's default,
else 3): 1 → critical, 2 → high, 3 → medium, 4 and above → low. MITRE comes from its metadata
(``mitre_technique_id`` …), else from the contract's IDS port mapping (§7.10), where a rule with a
threshold or detection_filter counts as rate-based.
"""

from collections.abc import Sequence

from sentinel_domain.common.matching import Pattern, PatternError, PatternKind, PatternMatcher
from sentinel_domain.common.packet import PacketHeader
from sentinel_domain.common.protocol import Protocol
from sentinel_domain.common.severity import Severity
from sentinel_domain.ids._content import conditions_hold
from sentinel_domain.ids._mitre import mitre_for_port, mitre_from_metadata
from sentinel_domain.ids._signature import Action, ContentMatch, SignatureRule, SkippedRule
from sentinel_domain.ids._thresholds import ThresholdState
from sentinel_domain.ids.entity import (
    MAX_RULES,
    Component,
    IdsAlert,
    IdsRule,
    PayloadEvent,
    PrefilterKey,
    RuleMode,
)
from sentinel_domain.ids.errors import IdsRuleError

_PRIORITY_SEVERITY = {1: Severity.CRITICAL, 2: Severity.HIGH, 3: Severity.MEDIUM}
_ICMPS = (Protocol.ICMP, Protocol.ICMPV6)
_SIGNATURE_PROTOCOLS: dict[Protocol, tuple[Protocol, ...]] = {
    Protocol.TCP: (Protocol.TCP,),
    Protocol.UDP: (Protocol.UDP,),
    Protocol.ICMP: _ICMPS,
    Protocol.ANY: (Protocol.TCP, Protocol.UDP, *_ICMPS),  # Suricata's ``ip``
}


def severity_for_priority(priority: int) -> Severity:
    """Suricata priority → severity: 1 critical, 2 high, 3 medium, 4+ low."""
    return _PRIORITY_SEVERITY.get(priority, Severity.LOW)


def validate_rule_set(rules: Sequence[IdsRule], component: Component) -> None:
    """Reject oversized sets, duplicate ids and rules filed under the wrong component."""
    if len(rules) > MAX_RULES:
        raise IdsRuleError(f"too many {component.value} rules: {len(rules)} (maximum {MAX_RULES})", "rules")
    seen: set[str] = set()
    for rule in rules:
        if rule.component is not component:
            raise IdsRuleError(f"rule '{rule.id}' is a {rule.component.value} rule, not {component.value}")
        if rule.id in seen:
            raise IdsRuleError(f"duplicate rule id '{rule.id}'", "rules")
        seen.add(rule.id)


class _Patterns:
    """The shared pattern table: one id per distinct (kind, bytes, flags)."""

    def __init__(self) -> None:
        self.patterns: list[Pattern] = []
        self._ids: dict[tuple[object, ...], int] = {}

    def add(self, kind: PatternKind, expression: bytes, owner: str, **flags: bool) -> int:
        key = (kind, expression, *sorted(flags.items()))
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self.patterns)
            label = f"{owner} (pattern #{found})"  # '#n)' lets a PatternError be traced back
            self.patterns.append(Pattern(found, expression, kind, label=label, **flags))
        return found


class IdsEngine:
    """Evaluates payload events and kernel matches against YAML rules and loaded signatures."""

    def __init__(
        self,
        matcher: PatternMatcher,
        rules: Sequence[IdsRule] = (),
        prevention_rules: Sequence[IdsRule] = (),
        signatures: Sequence[SignatureRule] = (),
        default_mode: RuleMode = RuleMode.ALERT,
    ) -> None:
        """Compile everything; a YAML pattern the matcher rejects raises IdsRuleError, a rejected
        signature pattern drops that signature into ``skipped`` (with the matcher's reason)."""
        validate_rule_set(rules, Component.IDS)
        validate_rule_set(prevention_rules, Component.IPS)
        self.rules: tuple[IdsRule, ...] = (*rules, *prevention_rules)
        self.default_mode = default_mode
        self.skipped: tuple[SkippedRule, ...] = ()
        active = list(signatures)
        for _ in range(len(active) + 1):  # each failed round removes at least one signature
            table, yaml_ids, sig_ids = self._table(active)
            try:
                self._compiled = matcher.compile(table.patterns) if table.patterns else None
                break
            except PatternError as exc:
                active = self._drop_failing(exc, table, yaml_ids, sig_ids, active)
        else:  # unreachable unless the matcher blames no pattern of the set
            raise IdsRuleError("pattern set could not be compiled")
        self.signatures: tuple[SignatureRule, ...] = tuple(active)
        self._yaml_ids = yaml_ids
        self._sig_ids = sig_ids
        self._anchored: dict[int, list[int]] = {}
        self._unanchored: list[int] = []
        for index, (sig, ids) in enumerate(zip(self.signatures, sig_ids, strict=True)):
            anchor = self._anchor(sig, ids)
            (self._anchored.setdefault(anchor, []) if anchor is not None else self._unanchored).append(index)
        self._yaml_by_pattern: dict[int, list[int]] = {}
        for index, pattern_id in enumerate(yaml_ids):
            if pattern_id is not None:
                self._yaml_by_pattern.setdefault(pattern_id, []).append(index)

    def _table(
        self, signatures: Sequence[SignatureRule]
    ) -> tuple[_Patterns, list[int | None], list[tuple[int, ...]]]:
        table = _Patterns()
        yaml_ids = [
            table.add(PatternKind.REGEX, r.pattern, f"rule {r.id}") if r.pattern is not None else None
            for r in self.rules
        ]
        sig_ids = []
        for sig in signatures:
            owner, ids = f"sid:{sig.sid}", []
            for cond in sig.conditions:
                if isinstance(cond, ContentMatch):
                    ids.append(table.add(PatternKind.LITERAL, cond.pattern, owner, nocase=cond.nocase))
                else:
                    flags = {"nocase": cond.nocase, "dotall": cond.dotall, "multiline": cond.multiline}
                    ids.append(table.add(PatternKind.REGEX, cond.regex, owner, **flags))
            sig_ids.append(tuple(ids))
        return table, yaml_ids, sig_ids

    def _drop_failing(
        self,
        exc: PatternError,
        table: _Patterns,
        yaml_ids: list[int | None],
        sig_ids: list[tuple[int, ...]],
        active: list[SignatureRule],
    ) -> list[SignatureRule]:
        message = str(exc)
        bad = next((p.id for p in table.patterns if f"#{p.id})" in message), None)
        if bad is None or bad in yaml_ids:
            raise IdsRuleError(f"pattern rejected: {message}") from None
        keep: list[SignatureRule] = []
        dropped: list[SignatureRule] = []
        for sig, ids in zip(active, sig_ids, strict=True):
            (dropped if bad in ids else keep).append(sig)
        self.skipped += tuple(
            SkippedRule(s.line, s.sid, f"pattern rejected: {message}", s.msg) for s in dropped
        )
        return keep

    @staticmethod
    def _anchor(sig: SignatureRule, ids: Sequence[int]) -> int | None:
        contents = [
            (len(c.pattern), i)
            for c, i in zip(sig.conditions, ids, strict=True)
            if isinstance(c, ContentMatch)
        ]
        if contents:
            return max(contents)[1]
        return ids[0] if ids else None

    def rule_by_index(self, index: int) -> IdsRule:
        """The YAML rule at ``index`` in the combined array (IDS rules, then IPS rules)."""
        return self.rules[index]

    def evaluate(self, event: PayloadEvent, state: ThresholdState, now_ns: int) -> list[IdsAlert]:
        """The alerts ``event`` raises (YAML rule first, then signatures in file order)."""
        ends: dict[int, list[int]] = {}
        if self._compiled is not None and event.payload:
            for match in self._compiled.scan(event.payload):
                ends.setdefault(match.pattern_id, []).append(match.end)
        candidates = set(self._unanchored)
        for pattern_id in ends:
            candidates.update(self._anchored.get(pattern_id, ()))
        fired = [i for i in sorted(candidates) if self._signature_fires(i, event, ends)]
        if any(self.signatures[i].action is Action.PASS for i in fired):
            return []
        alerts: list[IdsAlert] = []
        yaml_index = self._first_yaml(event.header, ends)
        if yaml_index is not None:
            alert = self._yaml_alert(yaml_index, event.header, event.timestamp_ns, state, now_ns)
            alerts += [alert] if alert is not None else []
        for index in fired:
            alert = self._signature_alert(self.signatures[index], event, state, now_ns)
            alerts += [alert] if alert is not None else []
        return alerts

    def on_kernel_match(
        self, rule_index: int, header: PacketHeader, timestamp_ns: int, state: ThresholdState, now_ns: int
    ) -> IdsAlert | None:
        """A kernel event naming ``rule_index``: None when the index is unknown, the rule disabled,
        restricted to other interfaces, has a pattern (never fires from a port-only event), or its
        threshold suppresses the alert."""
        if not 0 <= rule_index < len(self.rules):
            return None
        rule = self.rules[rule_index]
        if not rule.enabled or rule.pattern is not None or not self._on_interface(rule, header):
            return None
        return self._yaml_alert(rule_index, header, timestamp_ns, state, now_ns)

    @staticmethod
    def _on_interface(rule: IdsRule, header: PacketHeader) -> bool:
        return not rule.interfaces or header.interface in rule.interfaces

    def _first_yaml(self, header: PacketHeader, ends: dict[int, list[int]]) -> int | None:
        indexes = sorted(i for p in ends for i in self._yaml_by_pattern.get(p, ()))
        for index in indexes:
            rule = self.rules[index]
            if not rule.enabled or not self._on_interface(rule, header):
                continue
            if rule.protocol is not Protocol.ANY and header.protocol != rule.protocol:
                continue
            dst_hit = rule.dst_port is not None and rule.dst_port == header.dst_port
            if dst_hit or (rule.src_port is not None and rule.src_port == header.src_port):
                return index
        return None

    def _signature_fires(self, index: int, event: PayloadEvent, ends: dict[int, list[int]]) -> bool:
        sig = self.signatures[index]
        if not sig.header_matches(event.header) or not sig.flow.holds(event):
            return False
        return conditions_hold(sig.conditions, self._sig_ids[index], ends)

    def _yaml_alert(
        self, index: int, header: PacketHeader, timestamp_ns: int, state: ThresholdState, now_ns: int
    ) -> IdsAlert | None:
        rule = self.rules[index]
        key = f"{rule.component.value}:{rule.id}"
        if rule.threshold is not None and not state.hit(key, rule.threshold, header.src, header.dst, now_ns):
            return None
        if rule.component is Component.IPS:
            message = f"IPS rule {rule.id} matched"
        else:  # contract: addresses printed as integers
            message = (
                f"IDS rule {rule.id} matched: {int(header.src)}:{header.src_port or 0}"
                f" -> {int(header.dst)}:{header.dst_port or 0}"
            )
        return IdsAlert(
            rule_id=rule.id,
            component=rule.component,
            severity=rule.severity,
            action=rule.mode or self.default_mode,
            message=message,
            mitre=mitre_for_port(header.dst_port, rule.rate_based),
            header=header,
            timestamp_ns=timestamp_ns,
            rule_index=index,
        )

    @staticmethod
    def _signature_alert(
        sig: SignatureRule, event: PayloadEvent, state: ThresholdState, now_ns: int
    ) -> IdsAlert | None:
        header = event.header
        key = f"sid:{sig.gid}:{sig.sid}"
        if sig.threshold is not None and not state.hit(key, sig.threshold, header.src, header.dst, now_ns):
            return None
        metadata = {k: v for k, v in reversed(sig.metadata)}  # the first value of a key wins
        mitre = mitre_from_metadata(metadata) or mitre_for_port(header.dst_port, sig.threshold is not None)
        return IdsAlert(
            rule_id=str(sig.sid),
            component=Component.IDS,
            severity=severity_for_priority(sig.priority),
            action=sig.action.mode,
            message=sig.msg or f"sid {sig.sid}",
            mitre=mitre,
            header=header,
            timestamp_ns=event.timestamp_ns,
            sid=sig.sid,
            rev=sig.rev,
            classtype=sig.classtype,
        )

    def prefilter_keys(self) -> frozenset[PrefilterKey]:
        """Which (protocol, port) the kernel must send up: see PrefilterKey. YAML rules key on their
        ports (``any`` = tcp and udp; icmp rules on port 0); signatures (not ``pass``) on their
        smaller finite port side, else every port of the protocol (``PrefilterKey(p, None)``)."""
        keys: set[PrefilterKey] = set()
        for rule in self.rules:
            if not rule.enabled:
                continue
            if rule.protocol in _ICMPS:
                keys.add(PrefilterKey(rule.protocol, 0))
                continue
            protocols: tuple[Protocol, ...] = (
                (Protocol.TCP, Protocol.UDP) if rule.protocol is Protocol.ANY else (rule.protocol,)
            )
            keys.update(
                PrefilterKey(p, port) for p in protocols for port in (rule.dst_port, rule.src_port) if port
            )
        for sig in self.signatures:
            if sig.action is Action.PASS:
                continue
            protocols = _SIGNATURE_PROTOCOLS[sig.protocol]
            sides = [s for s in (sig.dst_ports.finite_ports(), sig.src_ports.finite_ports()) if s is not None]
            ports: frozenset[int] | None = min(sides, key=len) if sides else None
            for protocol in protocols:
                if protocol in _ICMPS:
                    keys.add(PrefilterKey(protocol, 0))
                elif ports is None:
                    keys.add(PrefilterKey(protocol, None))
                else:
                    keys.update(PrefilterKey(protocol, port) for port in ports)
        everything = {k.protocol for k in keys if k.port is None}
        return frozenset(k for k in keys if k.port is None or k.protocol not in everything)

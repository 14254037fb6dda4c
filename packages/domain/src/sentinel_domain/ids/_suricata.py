"""Loading the supported Suricata/Snort rule subset from ``.rules`` text (deviation 16).

Supported: actions alert|drop|pass; protocols tcp|udp|icmp|ip; directions ``->`` and ``<>``;
options msg, content (+ nocase, offset, depth, distance, within), pcre (flags i, s, m), flow,
sid, rev, gid, classtype, priority, metadata, reference, threshold, detection_filter, and the
no-op hints fast_pattern and rawbytes (both only steer Suricata's own prefilter/normalisation;
every content here is searched in the raw payload anyway). Anything else — an unknown option, a
sticky buffer, a negated content, another pcre flag — skips the rule with a reason naming it.
"""

from collections.abc import Mapping

from sentinel_domain.common.matching import MAX_PATTERN_LENGTH
from sentinel_domain.common.protocol import Protocol
from sentinel_domain.ids._header import parse_addresses, parse_ports
from sentinel_domain.ids._rules_text import content_bytes, rule_lines, split_rule, unescape_text, unquote
from sentinel_domain.ids._signature import (
    Action,
    Condition,
    ContentMatch,
    FlowCondition,
    PcreMatch,
    SignatureRule,
    SignatureSet,
    SkippedRule,
)
from sentinel_domain.ids.entity import MAX_RULES, FlowDirection, Threshold, ThresholdType, TrackBy
from sentinel_domain.ids.errors import SignatureError

# classification.config defaults (name → priority) for the classtypes in common rule sets
CLASSTYPES = {
    "not-suspicious": 3, "unknown": 3, "bad-unknown": 2, "attempted-recon": 2,
    "successful-recon-limited": 2, "successful-recon-largescale": 2, "attempted-dos": 2,
    "successful-dos": 2, "attempted-user": 1, "unsuccessful-user": 1, "successful-user": 1,
    "attempted-admin": 1, "successful-admin": 1, "rpc-portmap-decode": 2, "shellcode-detect": 1,
    "string-detect": 3, "suspicious-filename-detect": 2, "suspicious-login": 2,
    "system-call-detect": 2, "tcp-connection": 4, "trojan-activity": 1,
    "unusual-client-port-connection": 2, "network-scan": 3, "denial-of-service": 2,
    "non-standard-protocol": 2, "protocol-command-decode": 3, "web-application-activity": 2,
    "web-application-attack": 1, "misc-activity": 3, "misc-attack": 2, "icmp-event": 3,
    "inappropriate-content": 1, "policy-violation": 1, "default-login-attempt": 2,
    "targeted-activity": 1, "exploit-kit": 1, "external-ip-check": 2, "domain-c2": 1,
    "pup-activity": 2, "credential-theft": 1, "social-engineering": 2, "coin-mining": 2,
    "command-and-control": 1,
}  # fmt: skip
_PROTOCOLS = {"tcp": Protocol.TCP, "udp": Protocol.UDP, "icmp": Protocol.ICMP, "ip": Protocol.ANY}
_MODIFIERS = {"offset": (0, 65535), "depth": (1, 65535), "distance": (-65535, 65535), "within": (1, 65535)}
_FLOW: dict[str, FlowDirection | bool | None] = {
    "to_server": FlowDirection.TO_SERVER,
    "from_client": FlowDirection.TO_SERVER,
    "to_client": FlowDirection.TO_CLIENT,
    "from_server": FlowDirection.TO_CLIENT,
    "established": True,
    "not_established": False,
    "stateless": None,  # no condition: a packet-level engine inspects each packet on its own
}
MAX_CONDITIONS = 64
_ACTIONS = {"alert": Action.ALERT, "drop": Action.DROP, "pass": Action.PASS}
_TRACKS = {"by_src": TrackBy.SRC, "by_dst": TrackBy.DST, "by_both": TrackBy.BOTH}
_TYPES = {"limit": ThresholdType.LIMIT, "threshold": ThresholdType.THRESHOLD, "both": ThresholdType.BOTH}


def _integer(value: str | None, keyword: str, low: int, high: int) -> int:
    text = (value or "").strip()
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or len(digits) > 10 or not low <= int(text) <= high:
        raise SignatureError(f"{keyword}: expected an integer {low}..{high}, got '{value}'")
    return int(text)


def _pairs(value: str | None, keyword: str) -> list[tuple[str, str]]:
    """``key value, key value`` lists (metadata, threshold)."""
    pairs = []
    for item in (value or "").split(","):
        key, _, rest = item.strip().partition(" ")
        if key:
            pairs.append((key, rest.strip()))
    if not pairs:
        raise SignatureError(f"{keyword}: expected 'key value' pairs")
    return pairs


def _threshold(value: str | None, keyword: str) -> Threshold:
    fields: dict[str, str] = {}
    for key, item in _pairs(value, keyword):
        if key in fields or key not in ("type", "track", "count", "seconds"):
            raise SignatureError(f"{keyword}: unexpected or repeated '{key}'")
        fields[key] = item
    if keyword == "detection_filter":
        if "type" in fields:
            raise SignatureError("detection_filter: has no 'type'")
        kind = ThresholdType.DETECTION_FILTER
    elif fields.get("type") not in _TYPES:
        raise SignatureError(f"threshold: type must be limit, threshold or both, got '{fields.get('type')}'")
    else:
        kind = _TYPES[fields["type"]]
    if fields.get("track") not in _TRACKS:
        raise SignatureError(
            f"{keyword}: track must be by_src, by_dst or by_both, got '{fields.get('track')}'"
        )
    count = _integer(fields.get("count"), f"{keyword} count", 1, 2**32 - 1)
    seconds = _integer(fields.get("seconds"), f"{keyword} seconds", 1, 2**32 - 1)
    return Threshold(kind, count, seconds, _TRACKS[fields["track"]])


def _pcre(value: str | None) -> PcreMatch:
    if value is not None and value.startswith("!"):
        raise SignatureError("pcre: negated pcre is not supported")
    inner = unquote(value, "pcre")
    close = inner.rfind("/")
    if not inner.startswith("/") or close < 1:
        raise SignatureError('pcre: expected "/regex/flags"')
    regex, flags = inner[1:close], inner[close + 1 :]
    for flag in flags:
        if flag not in "ism":
            raise SignatureError(f"pcre: flag '{flag}' is not supported (only i, s, m)")
    if not regex:
        raise SignatureError("pcre: empty regex")
    return PcreMatch(regex.encode(), "i" in flags, "s" in flags, "m" in flags)


class _Builder:
    """Accumulates one rule's options in order."""

    def __init__(self, classifications: Mapping[str, int]) -> None:
        self.classifications = classifications
        self.given: set[str] = set()
        self.numbers: dict[str, int] = {}  # sid, rev, gid, priority
        self.msg = ""
        self.classtype: str | None = None
        self.metadata: list[tuple[str, str]] = []
        self.references: list[tuple[str, str]] = []
        self.threshold: Threshold | None = None
        self.direction: FlowDirection | None = None
        self.established: bool | None = None
        self.conditions: list[Condition] = []
        self.content: bytes | None = None  # the content being modified, and its modifiers
        self.modifiers: dict[str, int] = {}
        self.nocase = False

    def flush(self) -> None:
        if self.content is None:
            return
        pattern, spec, nocase = self.content, self.modifiers, self.nocase
        self.content, self.modifiers, self.nocase = None, {}, False
        relative = "distance" in spec or "within" in spec
        if relative and ("offset" in spec or "depth" in spec):
            raise SignatureError("content: offset/depth cannot be combined with distance/within")
        if relative and not self.conditions:
            raise SignatureError("content: distance/within need a previous content or pcre")
        for key in ("depth", "within"):
            if key in spec and spec[key] < len(pattern):
                raise SignatureError(
                    f"content: {key} {spec[key]} is shorter than the content ({len(pattern)})"
                )
        self.conditions.append(
            ContentMatch(
                pattern,
                nocase,
                spec.get("offset"),
                spec.get("depth"),
                spec.get("distance"),
                spec.get("within"),
            )
        )

    def once(self, key: str) -> None:
        if key in self.given:
            raise SignatureError(f"{key}: given twice")
        self.given.add(key)

    def option(self, name: str, value: str | None) -> None:
        if name == "content":
            self.flush()
            if value is not None and value.startswith("!"):
                raise SignatureError("content: negated content is not supported")
            self.content = content_bytes(unquote(value, "content"))
            if len(self.content) > MAX_PATTERN_LENGTH:
                raise SignatureError(f"content: {len(self.content)} bytes (maximum {MAX_PATTERN_LENGTH})")
        elif name == "nocase" or name in _MODIFIERS:
            if self.content is None:
                raise SignatureError(f"{name}: needs a preceding content")
            if name in self.modifiers or (name == "nocase" and self.nocase):
                raise SignatureError(f"{name}: given twice for one content")
            if name == "nocase":
                if value is not None:
                    raise SignatureError("nocase: takes no value")
                self.nocase = True
            else:
                self.modifiers[name] = _integer(value, name, *_MODIFIERS[name])
        elif name in ("fast_pattern", "rawbytes"):
            if self.content is None:
                raise SignatureError(f"{name}: needs a preceding content")
        elif name == "pcre":
            self.flush()
            self.conditions.append(_pcre(value))
        else:
            self.flush()
            self.rule_option(name, value)

    def rule_option(self, name: str, value: str | None) -> None:
        if name == "msg":
            self.once(name)
            self.msg = unescape_text(unquote(value, "msg"))
        elif name in ("sid", "rev", "gid", "priority"):
            self.once(name)
            self.numbers[name] = _integer(value, name, 1, 255 if name == "priority" else 2**32 - 1)
        elif name == "classtype":
            self.once(name)
            self.classtype = (value or "").strip()
            if self.classtype not in self.classifications:
                raise SignatureError(f"classtype: unknown classtype '{self.classtype}'")
        elif name == "metadata":
            self.metadata += _pairs(value, "metadata")
        elif name == "reference":
            kind, sep, where = (value or "").partition(",")
            if not sep or not kind.strip() or not where.strip():
                raise SignatureError("reference: expected 'type,value'")
            self.references.append((kind.strip(), where.strip()))
        elif name in ("threshold", "detection_filter"):
            if self.threshold is not None:
                raise SignatureError(f"{name}: only one threshold or detection_filter per rule")
            self.threshold = _threshold(value, name)
        elif name == "flow":
            self.once(name)
            self.flow(value)
        else:
            raise SignatureError(f"unsupported option '{name}'")

    def flow(self, value: str | None) -> None:
        for item in (value or "").split(","):
            word = item.strip()
            if word not in _FLOW:
                raise SignatureError(f"flow: '{word}' is not supported")
            setting = _FLOW[word]
            if isinstance(setting, FlowDirection):
                if self.direction not in (None, setting):
                    raise SignatureError(f"flow: contradictory '{value}'")
                self.direction = setting
            elif isinstance(setting, bool):
                if self.established not in (None, setting):
                    raise SignatureError(f"flow: contradictory '{value}'")
                self.established = setting


def _build(
    header: list[str],
    opts: list[tuple[str, str | None]],
    variables: Mapping[str, str],
    classifications: Mapping[str, int],
    line: int,
) -> SignatureRule:
    action_s, proto_s, src_s, sport_s, arrow, dst_s, dport_s = header
    if action_s not in _ACTIONS:
        raise SignatureError(f"unsupported action '{action_s}' (alert, drop or pass)")
    if proto_s not in _PROTOCOLS:
        raise SignatureError(f"unsupported protocol '{proto_s}' (tcp, udp, icmp or ip)")
    if arrow not in ("->", "<>"):
        raise SignatureError(f"unsupported direction '{arrow}' (-> or <>)")
    protocol = _PROTOCOLS[proto_s]
    src_ports, dst_ports = parse_ports(sport_s, variables), parse_ports(dport_s, variables)
    if protocol not in (Protocol.TCP, Protocol.UDP) and (src_ports.kind, dst_ports.kind) != ("any", "any"):
        raise SignatureError(f"ports must be 'any' for protocol {proto_s}")
    src, dst = parse_addresses(src_s, variables), parse_addresses(dst_s, variables)
    builder = _Builder(classifications)
    for name, value in opts:
        builder.option(name, value)
    builder.flush()
    if len(builder.conditions) > MAX_CONDITIONS:
        raise SignatureError(f"more than {MAX_CONDITIONS} content/pcre conditions")
    numbers = builder.numbers
    if "sid" not in numbers:
        raise SignatureError("sid is required")
    default_priority = classifications[builder.classtype] if builder.classtype else 3
    return SignatureRule(
        sid=numbers["sid"],
        action=_ACTIONS[action_s],
        protocol=protocol,
        src=src,
        src_ports=src_ports,
        dst=dst,
        dst_ports=dst_ports,
        bidirectional=arrow == "<>",
        msg=builder.msg,
        conditions=tuple(builder.conditions),
        flow=FlowCondition(builder.direction, builder.established),
        rev=numbers.get("rev", 1),
        gid=numbers.get("gid", 1),
        classtype=builder.classtype,
        priority=numbers.get("priority", default_priority),
        metadata=tuple(builder.metadata),
        references=tuple(builder.references),
        threshold=builder.threshold,
        line=line,
    )


def _sid_of(opts_text: str) -> int | None:
    """The sid of a rule that failed to load, when one can be read, for the skip report."""
    at = opts_text.find("sid:")
    digits = opts_text[at + 4 :].lstrip().split(";")[0].strip() if at >= 0 else ""
    return int(digits) if digits.isdigit() and len(digits) <= 10 else None


def parse_signatures(
    text: str | bytes,
    variables: Mapping[str, str] | None = None,
    classifications: Mapping[str, int] | None = None,
    max_rules: int = MAX_RULES,
) -> SignatureSet:
    """Load every rule of ``text`` that is in the supported subset; report every other one.

    Never raises for bad rule text: each rule either loads or appears in ``skipped`` with its line,
    sid (when readable) and the reason. A repeated (gid, sid) keeps the first rule. Rules beyond
    ``max_rules`` are skipped. ``variables`` maps names (without ``$``) to header values;
    ``classifications`` adds or overrides classtype → priority entries.
    """
    variables = variables or {}
    classes = {**CLASSTYPES, **(classifications or {})}
    rules: list[SignatureRule] = []
    skipped: list[SkippedRule] = []
    seen: set[tuple[int, int]] = set()
    for line, rule_text, raw in rule_lines(text):
        excerpt = raw if len(raw) <= 200 else raw[:197] + "..."
        if rule_text is None:
            skipped.append(SkippedRule(line, None, "line is not valid UTF-8", excerpt))
            continue
        try:
            header, opts = split_rule(rule_text)
            rule = _build(header, opts, variables, classes, line)
        except SignatureError as exc:
            skipped.append(SkippedRule(line, _sid_of(rule_text), str(exc), excerpt))
            continue
        except RecursionError:
            skipped.append(SkippedRule(line, _sid_of(rule_text), "rule nested too deeply", excerpt))
            continue
        if (rule.gid, rule.sid) in seen:
            skipped.append(SkippedRule(line, rule.sid, f"duplicate sid {rule.sid}", excerpt))
        elif len(rules) >= max_rules:
            skipped.append(SkippedRule(line, rule.sid, f"rule limit reached ({max_rules} rules)", excerpt))
        else:
            seen.add((rule.gid, rule.sid))
            rules.append(rule)
    return SignatureSet(tuple(rules), tuple(skipped))

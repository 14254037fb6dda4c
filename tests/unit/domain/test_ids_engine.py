"""The IDS engine: content positions, pcre, headers, flow, pass, YAML rules, kernel path, MITRE, prefilter."""

import ipaddress
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common import PacketHeader, Protocol, Severity
from sentinel_domain.common.matching import Pattern
from sentinel_domain.common.mitre import MitreRef
from sentinel_domain.ids import (
    ANY_PORT,
    Component,
    FlowDirection,
    IdsAlert,
    IdsEngine,
    IdsRule,
    IdsRuleError,
    PayloadEvent,
    PrefilterKey,
    RuleMode,
    ThresholdState,
    parse_signatures,
    severity_for_priority,
)
from sentinel_testkit.fakes import ReferenceMatcher

CLIENT, SERVER = ipaddress.ip_address("203.0.113.7"), ipaddress.ip_address("10.0.0.5")
VARS = {"HOME_NET": "10.0.0.0/8", "EXTERNAL_NET": "!$HOME_NET"}


def header(
    proto: int = Protocol.TCP, sport: int | None = 40000, dport: int | None = 80, reverse: bool = False
) -> PacketHeader:
    src, dst = (SERVER, CLIENT) if reverse else (CLIENT, SERVER)
    return PacketHeader(src, dst, proto, sport, dport, interface="eth0")


def event(
    payload: bytes,
    hdr: PacketHeader | None = None,
    direction: FlowDirection = FlowDirection.TO_SERVER,
    established: bool | None = True,
    ts: int = 1_000,
) -> PayloadEvent:
    return PayloadEvent(hdr or header(), payload, ts, direction, established)


def engine(rules_text: str = "", yaml: Sequence[IdsRule] = (), ips: Sequence[IdsRule] = ()) -> IdsEngine:
    loaded = parse_signatures(rules_text, VARS)
    assert not loaded.skipped, loaded.skipped
    return IdsEngine(ReferenceMatcher(), yaml, ips, loaded.rules)


def sids(eng: IdsEngine, ev: PayloadEvent, state: ThresholdState | None = None, now: int = 0) -> list[str]:
    return [a.rule_id for a in eng.evaluate(ev, state or ThresholdState(), now)]


def sig(body: str, header_text: str = "alert tcp any any -> any any", sid: int = 1) -> str:
    return f"{header_text} ({body} sid:{sid};)"


# --- content and its positional modifiers -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "payload", "fires"),
    [
        pytest.param('content:"evil";', b"xx evil", True, id="plain"),
        pytest.param('content:"evil";', b"xx EVIL", False, id="case-sensitive"),
        pytest.param('content:"evil"; nocase;', b"xx EVIL", True, id="nocase"),
        pytest.param('content:"|00 ff|A";', b"\x00\xffA", True, id="hex"),
        pytest.param('content:"GET"; offset:0; depth:3;', b"GET /", True, id="depth-at-start"),
        pytest.param('content:"GET"; depth:3;', b" GET /", False, id="depth-too-late"),
        pytest.param('content:"b"; offset:2;', b"abcb", True, id="offset-later-occurrence"),
        pytest.param('content:"b"; offset:2; depth:1;', b"ab b", False, id="offset-depth-window"),
        pytest.param('content:"b"; offset:3; depth:1;', b"ab b", True, id="offset-depth-exact"),
        pytest.param('content:"a"; content:"b"; distance:0;', b"ba", False, id="distance-order"),
        pytest.param('content:"a"; content:"b"; distance:0;', b"ab", True, id="distance-zero-adjacent"),
        pytest.param('content:"a"; content:"b"; distance:2;', b"a_b", False, id="distance-too-close"),
        pytest.param('content:"a"; content:"b"; distance:2;', b"a__b", True, id="distance-exact"),
        pytest.param(
            'content:"ab"; content:"b"; distance:-1; within:1;', b"ab", True, id="negative-distance"
        ),
        pytest.param('content:"a"; content:"b"; within:3;', b"a__b", True, id="within-fits"),
        pytest.param('content:"a"; content:"b"; within:3;', b"a___b", False, id="within-exceeded"),
        pytest.param('content:"a"; content:"b"; distance:1; within:2;', b"a_b", True, id="distance-within"),
        pytest.param('content:"a"; content:"b"; distance:1; within:2;', b"ab", False, id="dist-within-early"),
        pytest.param(
            'content:"a"; content:"b"; distance:1; within:2;', b"a___b", False, id="dist-within-late"
        ),
        pytest.param('content:"a"; content:"b"; within:2;', b"a___b ab", True, id="backtracks-to-later-a"),
        pytest.param('content:"x"; content:"a"; content:"b"; within:2;', b"a___bx", False, id="absolute-any"),
        pytest.param('content:"x"; content:"y";', b"y x", True, id="absolute-contents-unordered"),
        pytest.param(
            'content:"GET"; depth:3; content:"/a"; distance:1; within:2;', b"GET /a", True, id="chain"
        ),
        pytest.param('pcre:"/id=[0-9]+/";', b"?id=42", True, id="pcre"),
        pytest.param('pcre:"/^GET/";', b" GET", False, id="pcre-anchored-to-payload"),
        pytest.param('pcre:"/select.*from/is";', b"SELECT\n* FROM", True, id="pcre-flags"),
        pytest.param('pcre:"/^b/m";', b"a\nb", True, id="pcre-multiline"),
        pytest.param(
            'pcre:"/k=[0-9]+,/"; content:"ok"; distance:0; within:3;', b"k=12, ok", True, id="after-pcre"
        ),
        pytest.param(
            'pcre:"/k=[0-9]+,/"; content:"ok"; distance:0; within:2;', b"k=12, ok", False, id="after-pcre-far"
        ),
        pytest.param(
            'pcre:"/k=[0-9]/"; content:"7"; distance:0; within:1;', b"k=12 k=37", True, id="pcre-every-end"
        ),
    ],
)
def test_content_and_pcre_conditions(body: str, payload: bytes, fires: bool) -> None:
    assert sids(engine(sig(body)), event(payload)) == (["1"] if fires else [])


def test_header_only_signature_fires_on_any_payload_and_on_empty_payload() -> None:
    eng = engine(sig('msg:"any tcp to 80";', "alert tcp any any -> any 80"))
    assert sids(eng, event(b"")) == ["1"]
    assert sids(eng, event(b"x", header(dport=81))) == []


# --- headers and flow --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_header", "hdr", "fires"),
    [
        pytest.param("alert tcp any any -> any 80", header(), True, id="tcp-port"),
        pytest.param("alert tcp any any -> any 80", header(Protocol.UDP), False, id="tcp-vs-udp"),
        pytest.param("alert udp any any -> any 80", header(Protocol.UDP), True, id="udp"),
        pytest.param("alert ip any any -> any any", header(Protocol.UDP), True, id="ip-any-proto"),
        pytest.param("alert icmp any any -> any any", header(Protocol.ICMP, None, None), True, id="icmp"),
        pytest.param("alert icmp any any -> any any", header(Protocol.ICMPV6, None, None), True, id="icmpv6"),
        pytest.param(
            "alert $EXTERNAL_NET any -> $HOME_NET any".replace("alert", "alert tcp"),
            header(),
            True,
            id="variables",
        ),
        pytest.param("alert tcp $HOME_NET any -> $EXTERNAL_NET any", header(), False, id="wrong-way"),
        pytest.param("alert tcp $HOME_NET any <> $EXTERNAL_NET any", header(), True, id="bidirectional"),
        pytest.param(
            "alert tcp any 40000 <> any 80",
            header(reverse=True, sport=80, dport=40000),
            True,
            id="bidirectional-ports",
        ),
        pytest.param("alert tcp any any -> any !80", header(), False, id="negated-port"),
        pytest.param("alert tcp any 1024: -> any :1023", header(), True, id="ranges"),
        pytest.param("alert tcp any any -> 10.0.0.0/24 any", header(), True, id="cidr"),
        pytest.param(
            "alert tcp any any -> [10.0.1.0/24,10.0.2.0/24] any", header(), False, id="cidr-list-miss"
        ),
    ],
)
def test_header_matching(rule_header: str, hdr: PacketHeader, fires: bool) -> None:
    eng = engine(sig('content:"x";', rule_header))
    assert sids(eng, event(b"x", hdr)) == (["1"] if fires else [])


@pytest.mark.parametrize(
    ("flow", "direction", "established", "fires"),
    [
        ("to_server", FlowDirection.TO_SERVER, None, True),
        ("to_server", FlowDirection.TO_CLIENT, True, False),
        ("to_server", FlowDirection.UNKNOWN, True, False),
        ("from_server", FlowDirection.TO_CLIENT, None, True),
        ("to_client,established", FlowDirection.TO_CLIENT, False, False),
        ("established", FlowDirection.UNKNOWN, True, True),
        ("established", FlowDirection.UNKNOWN, None, False),
        ("not_established", FlowDirection.UNKNOWN, False, True),
        ("stateless", FlowDirection.UNKNOWN, None, True),
    ],
)
def test_flow_conditions(flow: str, direction: FlowDirection, established: bool | None, fires: bool) -> None:
    eng = engine(sig(f'flow:{flow}; content:"x";'))
    assert sids(eng, event(b"x", direction=direction, established=established)) == (["1"] if fires else [])


def test_pass_rule_silences_every_alert_for_the_packet_and_counts_nothing() -> None:
    rules = "\n".join(
        [
            sig('content:"attack";', sid=1),
            sig('content:"attack"; threshold:type limit, track by_src, count 1, seconds 60;', sid=2),
            sig("", f"pass tcp {CLIENT} any -> any any", sid=3),
        ]
    )
    yaml = [IdsRule("web", Severity.HIGH, dst_port=80, pattern=b"attack")]
    eng, state = engine(rules, yaml), ThresholdState()
    assert sids(eng, event(b"attack"), state) == []
    assert len(state) == 0
    other = PacketHeader(ipaddress.ip_address("198.51.100.1"), SERVER, Protocol.TCP, 40000, 80)
    assert sids(eng, event(b"attack", other), state) == ["web", "1", "2"]


def test_drop_action_and_all_matching_signatures_fire_in_file_order() -> None:
    rules = "\n".join(
        [
            sig('msg:"second"; content:"b";', sid=20),
            sig('msg:"first"; content:"a";', "drop tcp any any -> any any", sid=10),
        ]
    )
    alerts = engine(rules).evaluate(event(b"ab"), ThresholdState(), 0)
    assert [(a.rule_id, a.message, a.action) for a in alerts] == [
        ("20", "second", RuleMode.ALERT),
        ("10", "first", RuleMode.BLOCK),
    ]


def test_signature_alert_fields() -> None:
    text = sig(
        'msg:"C2"; content:"beacon"; classtype:trojan-activity; rev:4; '
        "metadata:mitre_technique_id T1071.001, mitre_technique_name Web_Protocols, mitre_tactic_id TA0011;",
        sid=9,
    )
    (alert,) = engine(text).evaluate(event(b"beacon", ts=777), ThresholdState(), 0)
    assert alert == IdsAlert(
        rule_id="9",
        component=Component.IDS,
        severity=Severity.CRITICAL,
        action=RuleMode.ALERT,
        message="C2",
        mitre=MitreRef("T1071.001", "Web Protocols", "command-and-control"),
        header=header(),
        timestamp_ns=777,
        sid=9,
        rev=4,
        classtype="trojan-activity",
    )


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        (1, Severity.CRITICAL),
        (2, Severity.HIGH),
        (3, Severity.MEDIUM),
        (4, Severity.LOW),
        (255, Severity.LOW),
    ],
)
def test_priority_to_severity(priority: int, severity: Severity) -> None:
    assert severity_for_priority(priority) is severity
    (alert,) = engine(sig(f'content:"x"; priority:{priority};')).evaluate(event(b"x"), ThresholdState(), 0)
    assert alert.severity is severity


@pytest.mark.parametrize(
    ("metadata", "dport", "threshold", "expected"),
    [
        pytest.param("", 22, "", MitreRef("T1021.004", "SSH", "lateral-movement"), id="port-22"),
        pytest.param(
            "", 443, "", MitreRef("T1071.001", "Web Protocols", "command-and-control"), id="port-443"
        ),
        pytest.param(
            "",
            9999,
            "",
            MitreRef("T1071", "Application Layer Protocol", "command-and-control"),
            id="other-port",
        ),
        pytest.param(
            "",
            22,
            "threshold:type limit, track by_src, count 5, seconds 60;",
            MitreRef("T1110.001", "Password Guessing", "credential-access"),
            id="rate-based-ssh",
        ),
        pytest.param(
            "",
            80,
            "threshold:type limit, track by_src, count 5, seconds 60;",
            MitreRef("T1110", "Brute Force", "credential-access"),
            id="rate-based-other",
        ),
        pytest.param(
            "metadata:mitre_technique_id T1190, mitre_tactic_name Initial_Access;",
            22,
            "",
            MitreRef("T1190", "T1190", "initial-access"),
            id="metadata-without-name",
        ),
        pytest.param(
            "metadata:mitre_technique_id T1046;",
            22,
            "",
            MitreRef("T1046", "T1046", ""),
            id="metadata-without-tactic",
        ),
    ],
)
def test_mitre_from_metadata_or_port_table(
    metadata: str, dport: int, threshold: str, expected: MitreRef
) -> None:
    eng = engine(sig(f'content:"x"; {metadata} {threshold}'))
    alerts = eng.evaluate(event(b"x", header(dport=dport)), ThresholdState(), 0)
    assert [a.mitre for a in alerts] == [expected]


# --- YAML rules ------------------------------------------------------------------------------


def test_first_matching_yaml_pattern_rule_wins() -> None:
    yaml = [
        IdsRule("off", Severity.LOW, dst_port=80, pattern=b"a", enabled=False),
        IdsRule("udp-only", Severity.LOW, protocol=Protocol.TCP, dst_port=81, pattern=b"a"),
        IdsRule("first", Severity.MEDIUM, dst_port=80, pattern=b"a+"),
        IdsRule("second", Severity.HIGH, src_port=40000, pattern=b"a"),
    ]
    eng = engine(yaml=yaml)
    (alert,) = eng.evaluate(event(b"aaa"), ThresholdState(), 0)
    assert (alert.rule_id, alert.rule_index, alert.severity) == ("first", 2, Severity.MEDIUM)
    assert alert.message == f"IDS rule first matched: {int(CLIENT)}:40000 -> {int(SERVER)}:80"
    assert sids(eng, event(b"a", header(dport=9))) == ["second"]  # src_port match
    assert sids(eng, event(b"b")) == []


def test_yaml_rule_interfaces_and_mode() -> None:
    yaml = [
        IdsRule("wlan", Severity.LOW, dst_port=80, pattern=b"x", interfaces=("wlan0",)),
        IdsRule("blocker", Severity.LOW, dst_port=80, pattern=b"x", mode=RuleMode.BLOCK),
    ]
    (alert,) = engine(yaml=yaml).evaluate(event(b"x"), ThresholdState(), 0)
    assert (alert.rule_id, alert.action) == ("blocker", RuleMode.BLOCK)
    default_block = IdsEngine(ReferenceMatcher(), yaml[:1], default_mode=RuleMode.BLOCK)
    wlan = PacketHeader(CLIENT, SERVER, Protocol.TCP, 1, 80, interface="wlan0")
    assert [a.action for a in default_block.evaluate(event(b"x", wlan), ThresholdState(), 0)] == [
        RuleMode.BLOCK
    ]


def test_kernel_matches_fire_port_only_rules_by_index() -> None:
    ids = [
        IdsRule("ssh", Severity.HIGH, protocol=Protocol.TCP, dst_port=22),
        IdsRule("with-pattern", Severity.HIGH, dst_port=80, pattern=b"x"),
        IdsRule("off", Severity.HIGH, dst_port=23, enabled=False),
    ]
    ips = [IdsRule("ips-rdp", Severity.CRITICAL, dst_port=3389, component=Component.IPS, mode=RuleMode.BLOCK)]
    eng, state = engine(yaml=ids, ips=ips), ThresholdState()
    alert = eng.on_kernel_match(0, header(dport=22), 5, state, 0)
    assert alert is not None and (alert.rule_id, alert.component, alert.rule_index) == (
        "ssh",
        Component.IDS,
        0,
    )
    assert alert.mitre == MitreRef("T1021.004", "SSH", "lateral-movement")
    for index in (1, 2, 4, -1):
        assert eng.on_kernel_match(index, header(), 5, state, 0) is None
    ips_alert = eng.on_kernel_match(3, header(dport=3389), 5, state, 0)
    assert ips_alert is not None
    assert (ips_alert.component, ips_alert.message, ips_alert.action) == (
        Component.IPS,
        "IPS rule ips-rdp matched",
        RuleMode.BLOCK,
    )
    assert eng.rule_by_index(3).id == "ips-rdp"


def test_yaml_pattern_the_matcher_rejects_fails_the_whole_engine() -> None:
    with pytest.raises(IdsRuleError, match="rule bad"):
        IdsEngine(ReferenceMatcher(), [IdsRule("bad", Severity.LOW, dst_port=80, pattern=b"(a)\\1")])


def test_signature_pattern_the_matcher_rejects_is_skipped_and_reported() -> None:
    loaded = parse_signatures(
        "\n".join(
            [sig('pcre:"/(a)\\1/";', sid=1), sig('content:"ok";', sid=2), sig('pcre:"/a(?=b)/";', sid=3)]
        )
    )
    eng = IdsEngine(ReferenceMatcher(), signatures=loaded.rules)
    assert [s.sid for s in eng.signatures] == [2]
    assert [(s.sid, s.line) for s in eng.skipped] == [(1, 1), (3, 3)]
    assert "backreferences" in eng.skipped[0].reason and "lookaround" in eng.skipped[1].reason
    assert sids(eng, event(b"ok")) == ["2"]


def test_identical_patterns_are_compiled_once() -> None:
    class Counting(ReferenceMatcher):
        sizes: list[int] = []

        def compile(self, patterns: Sequence[Pattern]):  # type: ignore[no-untyped-def]
            self.sizes.append(len(patterns))
            return super().compile(patterns)

    matcher = Counting()
    loaded = parse_signatures("\n".join(sig('content:"same"; content:"other";', sid=i) for i in range(1, 30)))
    yaml = [IdsRule("y", Severity.LOW, dst_port=80, pattern=b"same")]
    IdsEngine(matcher, yaml, signatures=loaded.rules)
    assert matcher.sizes == [3]  # "same" regex (YAML), "same" literal, "other" literal


# --- prefilter keys --------------------------------------------------------------------------


def key_set(eng: IdsEngine) -> set[tuple[Protocol, int | None]]:
    return {(k.protocol, k.port) for k in eng.prefilter_keys()}


def test_prefilter_keys_for_yaml_rules() -> None:
    yaml = [
        IdsRule("a", Severity.LOW, dst_port=80),
        IdsRule("b", Severity.LOW, protocol=Protocol.UDP, src_port=53, dst_port=5353),
        IdsRule("c", Severity.LOW, protocol=Protocol.ICMP, dst_port=0),
        IdsRule("off", Severity.LOW, dst_port=9, enabled=False),
    ]
    assert key_set(engine(yaml=yaml)) == {
        (Protocol.TCP, 80),
        (Protocol.UDP, 80),
        (Protocol.UDP, 53),
        (Protocol.UDP, 5353),
        (Protocol.ICMP, 0),
    }


def test_prefilter_keys_for_signatures() -> None:
    rules = "\n".join(
        [
            sig('content:"a";', "alert tcp any any -> any [80,443]", sid=1),
            sig('content:"a";', "alert tcp any 8080 -> any 1024:", sid=2),  # the finite side is the source
            sig('content:"a";', "alert udp any any -> any 5000:5002", sid=3),
            sig('content:"a";', "alert icmp any any -> any any", sid=4),
            sig("", "pass tcp any any -> any any", sid=5),
        ]
    )
    assert key_set(engine(rules)) == {
        (Protocol.TCP, 80),
        (Protocol.TCP, 443),
        (Protocol.TCP, 8080),
        (Protocol.UDP, 5000),
        (Protocol.UDP, 5001),
        (Protocol.UDP, 5002),
        (Protocol.ICMP, 0),
        (Protocol.ICMPV6, 0),
    }


def test_any_port_rules_mean_inspect_every_packet_of_the_protocol() -> None:
    rules = "\n".join([sig('content:"a";', "alert tcp any any -> any 80", sid=1), sig('content:"b";', sid=2)])
    assert engine(rules).prefilter_keys() == frozenset({PrefilterKey(Protocol.TCP, ANY_PORT)})
    ip_rule = sig('content:"c";', "alert ip any any -> any any", sid=3)
    assert key_set(engine(ip_rule)) == {
        (Protocol.TCP, None),
        (Protocol.UDP, None),
        (Protocol.ICMP, 0),
        (Protocol.ICMPV6, 0),
    }
    assert key_set(engine(sig('content:"a";', "alert tcp any any -> any !80"))) == {(Protocol.TCP, None)}


# --- properties: positional semantics against a brute-force oracle ------------------------------

ALPHABET = b"ab_"


def brute_force(contents: list[tuple[bytes, dict[str, int]]], payload: bytes) -> bool:
    """Try every choice of occurrences in order, straight from the modifier definitions."""

    def starts(needle: bytes) -> list[int]:
        return [i for i in range(len(payload) - len(needle) + 1) if payload[i : i + len(needle)] == needle]

    def search(index: int, prev_end: int) -> bool:
        if index == len(contents):
            return True
        needle, mods = contents[index]
        for start in starts(needle):
            end = start + len(needle)
            if "distance" in mods or "within" in mods:
                base = prev_end + mods.get("distance", 0)
                if start < base or ("within" in mods and end > base + mods["within"]):
                    continue
            else:
                low = mods.get("offset", 0)
                if start < low or ("depth" in mods and end > low + mods["depth"]):
                    continue
            if search(index + 1, end):
                return True
        return False

    return search(0, 0)


@st.composite
def content_rules(draw: st.DrawFn) -> list[tuple[bytes, dict[str, int]]]:
    contents = []
    for index in range(draw(st.integers(1, 3))):
        needle = draw(st.binary(min_size=1, max_size=2).map(lambda b: bytes(ALPHABET[x % 3] for x in b)))
        mods: dict[str, int] = {}
        if index and draw(st.booleans()):
            if draw(st.booleans()):
                mods["distance"] = draw(st.integers(-3, 4))
            if draw(st.booleans()):
                mods["within"] = draw(st.integers(len(needle), 6))
        else:
            if draw(st.booleans()):
                mods["offset"] = draw(st.integers(0, 5))
            if draw(st.booleans()):
                mods["depth"] = draw(st.integers(len(needle), 6))
        contents.append((needle, mods))
    return contents


@settings(max_examples=300, deadline=None)
@given(
    contents=content_rules(), payload=st.binary(max_size=14).map(lambda b: bytes(ALPHABET[x % 3] for x in b))
)
def test_positional_modifiers_match_the_brute_force_oracle(
    contents: list[tuple[bytes, dict[str, int]]], payload: bytes
) -> None:
    body = " ".join(
        f'content:"{needle.decode()}"; ' + " ".join(f"{k}:{v};" for k, v in mods.items())
        for needle, mods in contents
    )
    eng = engine(sig(body))
    assert bool(sids(eng, event(payload))) == brute_force(contents, payload)

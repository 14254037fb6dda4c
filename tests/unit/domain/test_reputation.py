"""Domain reputation: name features, factors fed by observations, scoring, decay, auto-block."""

import random
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.common.severity import Severity
from sentinel_domain.reputation import (
    DEFAULT_WEIGHTS,
    AutoBlock,
    AutoUnblock,
    FactorKind,
    ReputationConfig,
    ReputationConfigError,
    ReputationEngine,
    dga_features,
    digit_ratio,
    is_dga_like,
    longest_consonant_run,
    rare_bigram_ratio,
    registrable_domain,
    shannon_entropy,
)

HOUR = 3600.0
NXDOMAIN, NOERROR = 3, 0

# Registrable labels of popular services; none may look machine-generated.
POPULAR = [
    line
    for line in (Path(__file__).parent / "fixtures" / "dns" / "popular_labels.txt").read_text().split()
    if line and not line.startswith("#")
]


def dga_family(count: int, seed: int = 7) -> list[str]:
    """A toy DGA: seeded 12-18 character labels of letters and digits under common TLDs."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    tlds = ["com", "net", "org", "info", "biz"]
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(12, 18))) + "." + rng.choice(tlds)
        for _ in range(count)
    ]


class TestNameFeatures:
    @pytest.mark.parametrize(
        ("name", "registrable"),
        [
            ("www.example.com", "example.com"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("shop.example.com.au", "example.com.au"),
            ("portal.tramites.gob.mx", "tramites.gob.mx"),
            ("x.example.ne.jp", "example.ne.jp"),
            ("cdn.example.de", "example.de"),
            ("d111111abcdef8.cloudfront.net", "cloudfront.net"),  # private PSL suffixes are not known
            ("example.com", "example.com"),
            ("com", None),
            ("co.uk", None),
            ("localhost", None),
        ],
    )
    def test_registrable_domain(self, name, registrable):
        assert registrable_domain(name) == registrable

    @pytest.mark.parametrize(("text", "bits"), [("", 0.0), ("aaaa", 0.0), ("ab", 1.0), ("abcd", 2.0)])
    def test_entropy(self, text, bits):
        assert shannon_entropy(text) == pytest.approx(bits)

    def test_other_features(self):
        assert longest_consonant_run("xkcdqwrtz") == 9
        assert longest_consonant_run("rhythm") == 3  # y is a vowel: r-h | t-h-m
        assert digit_ratio("ab12") == 0.5
        assert rare_bigram_ratio("the") == 0.0
        assert rare_bigram_ratio("xq") == 1.0
        assert rare_bigram_ratio("a1") == 1.0

    def test_popular_labels_are_not_dga_like(self):
        flagged = [label for label in POPULAR if dga_features(label + ".com").dga_like]
        assert flagged == []

    def test_random_labels_are_mostly_dga_like(self):
        family = dga_family(400)
        rate = sum(dga_features(name).dga_like for name in family) / len(family)
        assert rate >= 0.85

    def test_fast_check_agrees_with_features(self):
        for name in [*dga_family(200), *(label + ".com" for label in POPULAR), "com", "a.b"]:
            features = dga_features(name)
            assert is_dga_like(name) == (features is not None and features.dga_like)

    def test_short_and_punycode_labels_are_exempt(self):
        assert not dga_features("xqzkvw.com").dga_like  # 6 characters
        assert not dga_features("xn--80ak6aa92e.com").dga_like
        assert dga_features("com") is None


def engine(**overrides) -> ReputationEngine:
    return ReputationEngine(ReputationConfig(auto_block_enabled=True, **overrides))


def score_of(kinds) -> float:
    remaining = 1.0
    for kind in kinds:
        remaining *= 1 - DEFAULT_WEIGHTS[kind]
    return 1 - remaining


class TestScenarios:
    def test_dga_family_with_nxdomain_bursts_crosses_the_default_threshold(self):
        rep = engine()
        assert rep.config.auto_block_threshold == 0.8
        blocks: dict[str, AutoBlock] = {}
        family = dga_family(60, seed=11)
        for index, name in enumerate(family):
            start = 100.0 + index
            for attempt in range(5):  # the malware retries each name a few times
                now = start + attempt * 2.0
                rep.observe_query(name, now)
                for decision in rep.observe_response(name, NXDOMAIN, None, now + 0.01):
                    assert isinstance(decision, AutoBlock)
                    blocks.setdefault(decision.domain, decision)
        dga_like = {name for name in family if dga_features(name).dga_like}
        assert set(blocks) == dga_like
        assert len(blocks) >= 0.85 * len(family)
        first = blocks[sorted(blocks)[0]]
        assert first.score >= 0.8
        assert first.ttl_secs == 3600
        assert first.reason == f"reputation: {first.domain}"
        assert first.alert is not None
        assert first.alert.rule_id == f"dns-reputation:{first.score:.2f}"
        assert first.alert.severity is Severity.HIGH
        assert first.alert.mitre.technique_id == "T1568"
        snap = rep.get(first.domain, now=200.0)
        assert set(snap.factors) >= {
            FactorKind.HIGH_ENTROPY,
            FactorKind.NXDOMAIN_RATIO,
            FactorKind.YOUNG_DOMAIN,
        }
        assert snap.blocked and snap.nxdomain == snap.responses == 5

    def test_popular_benign_domain_never_crosses(self):
        rep = engine()
        decisions = []
        now = 0.0
        for _ in range(5000):  # ~one query per second for well over an hour, bursts included
            now += 1.0
            decisions += rep.observe_query("www.example.com", now)
            decisions += rep.observe_response("www.example.com", NOERROR, 300, now + 0.02)
        assert decisions == []
        snap = rep.get("www.example.com", now)
        assert snap.score < 0.8
        assert FactorKind.YOUNG_DOMAIN not in snap.factors
        assert set(snap.factors) == {FactorKind.FREQUENT_QUERIES}

    def test_mistyped_name_with_nxdomain_retries_does_not_cross(self):
        rep = engine()
        decisions = []
        for second in range(60):
            decisions += rep.observe_query("wwww.example.com", float(second))
            decisions += rep.observe_response("wwww.example.com", NXDOMAIN, None, second + 0.01)
        assert decisions == []
        assert rep.get("wwww.example.com", 60.0).score == pytest.approx(
            score_of([FactorKind.NXDOMAIN_RATIO, FactorKind.YOUNG_DOMAIN, FactorKind.FREQUENT_QUERIES])
        )


class TestFactors:
    def test_young_domain_expires(self):
        rep = engine(young_domain_secs=HOUR)
        rep.observe_query("a.example", 0.0)
        assert rep.get("a.example", 0.0).factors == (FactorKind.YOUNG_DOMAIN,)
        rep.observe_query("a.example", HOUR + 1)
        assert rep.get("a.example", HOUR + 1).factors == ()

    @pytest.mark.parametrize(
        ("ttls", "active"),
        [([30, 30], False), ([30, 30, 30], True), ([30, 300, 300, 300], False), ([30, 30, 300, 300], True)],
    )
    def test_short_ttl_needs_three_resolutions_mostly_short(self, ttls, active):
        rep = engine(young_domain_secs=0)
        for t, ttl in enumerate(ttls):
            rep.observe_response("a.example", NOERROR, ttl, float(t))
        assert (FactorKind.SHORT_TTL in rep.get("a.example", 10.0).factors) is active

    @pytest.mark.parametrize(
        ("rcodes", "active"),
        [([3, 3], False), ([3, 3, 3], True), ([3, 0, 3], True), ([3, 0, 0], False), ([2, 2, 3], False)],
    )
    def test_nxdomain_ratio(self, rcodes, active):
        rep = engine(young_domain_secs=0)
        for t, rcode in enumerate(rcodes):
            rep.observe_response("a.example", rcode, 60 if rcode == 0 else None, float(t))
        assert (FactorKind.NXDOMAIN_RATIO in rep.get("a.example", 10.0).factors) is active

    def test_burst_is_held_then_released(self):
        rep = engine(young_domain_secs=0, burst_queries=5, burst_window_secs=10, burst_hold_secs=100)
        for t in range(4):
            rep.observe_query("a.example", float(t * 5))  # 4 queries: no burst yet
        assert FactorKind.FREQUENT_QUERIES not in rep.get("a.example", 20.0).factors
        rep.observe_query("a.example", 21.0)  # 5 queries within 21 s > 10 s: still no burst
        assert FactorKind.FREQUENT_QUERIES not in rep.get("a.example", 21.0).factors
        for t in (22.0, 23.0, 24.0, 25.0):
            rep.observe_query("a.example", t)
        assert FactorKind.FREQUENT_QUERIES in rep.get("a.example", 25.0).factors
        rep.observe_query("a.example", 200.0)
        assert FactorKind.FREQUENT_QUERIES not in rep.get("a.example", 200.0).factors

    @pytest.mark.parametrize(
        ("observe", "kind"),
        [
            ("observe_blocklist_hit", FactorKind.BLOCKLIST_HIT),
            ("observe_ioc_hit", FactorKind.CTI_MATCH),
            ("observe_l7_match", FactorKind.L7_RULE_MATCH),
            ("observe_high_risk_country", FactorKind.HIGH_RISK_COUNTRY),
        ],
    )
    def test_event_factors_use_contract_weights(self, observe, kind):
        rep = engine(young_domain_secs=0)
        getattr(rep, observe)("a.example", 0.0)
        assert rep.get("a.example", 0.0).score == pytest.approx(DEFAULT_WEIGHTS[kind])
        rep.observe_query("a.example", 10.0)  # event factors stay
        assert kind in rep.get("a.example", 10.0).factors

    def test_contract_weights(self):
        assert DEFAULT_WEIGHTS[FactorKind.BLOCKLIST_HIT] == 0.9
        assert DEFAULT_WEIGHTS[FactorKind.CTI_MATCH] == 0.8
        assert DEFAULT_WEIGHTS[FactorKind.L7_RULE_MATCH] == 0.5
        assert DEFAULT_WEIGHTS[FactorKind.HIGH_RISK_COUNTRY] == 0.4
        assert DEFAULT_WEIGHTS[FactorKind.HIGH_ENTROPY] == 0.3
        assert DEFAULT_WEIGHTS[FactorKind.SHORT_TTL] == 0.2
        assert DEFAULT_WEIGHTS[FactorKind.FREQUENT_QUERIES] == 0.1

    def test_blocklist_plus_ioc_combines(self):
        rep = engine(young_domain_secs=0)
        rep.observe_blocklist_hit("A.Example.", 0.0)
        rep.observe_ioc_hit("a.example", 1.0)
        assert rep.effective_score("a.example", 1.0) == pytest.approx(1 - 0.1 * 0.2)

    def test_weights_override(self):
        rep = engine(young_domain_secs=0, weights={FactorKind.BLOCKLIST_HIT: 0.5})
        rep.observe_blocklist_hit("a.example", 0.0)
        assert rep.effective_score("a.example", 0.0) == pytest.approx(0.5)


class TestBlockingAndDecay:
    def test_block_repeats_without_alert_then_unblocks_when_score_falls(self):
        rep = engine(young_domain_secs=50)
        name = "q8x7kz2mvbt9pw.com"
        first = rep.observe_response(name, NXDOMAIN, None, 0.0)
        first += rep.observe_response(name, NXDOMAIN, None, 1.0)
        assert first == []
        (block,) = rep.observe_response(name, NXDOMAIN, None, 2.0)
        assert isinstance(block, AutoBlock) and block.alert is not None
        (again,) = rep.observe_query(name, 3.0)
        assert isinstance(again, AutoBlock) and again.alert is None
        assert rep.blocked_domains() == [name]
        (unblock,) = rep.observe_query(name, 60.0)  # no longer young: 0.72 < 0.8
        assert isinstance(unblock, AutoUnblock) and unblock.score == pytest.approx(0.72)
        assert rep.blocked_domains() == []

    def test_decay_halves_per_half_life_and_reevaluate_unblocks(self):
        rep = engine(young_domain_secs=0, decay_half_life_secs=HOUR)
        (block,) = rep.observe_blocklist_hit("bad.example", 0.0)
        assert block.score == pytest.approx(0.9)
        assert rep.effective_score("bad.example", HOUR) == pytest.approx(0.45)
        assert rep.effective_score("bad.example", 2 * HOUR) == pytest.approx(0.225)
        assert rep.reevaluate(0.1 * HOUR) == []
        (unblock,) = rep.reevaluate(HOUR)
        assert unblock == AutoUnblock("bad.example", pytest.approx(0.45))
        assert rep.reevaluate(2 * HOUR) == []

    def test_disabled_auto_block_scores_without_decisions(self):
        rep = ReputationEngine(ReputationConfig())  # auto_block_enabled defaults to false
        assert rep.observe_blocklist_hit("bad.example", 0.0) == []
        assert rep.effective_score("bad.example", 0.0) >= 0.9

    def test_capacity_evicts_lowest_effective_score(self):
        rep = engine(max_tracked_domains=100, young_domain_secs=0)
        rep.observe_blocklist_hit("keep.example", 0.0)
        for index in range(99):
            rep.observe_query(f"plain{index}.example", 1.0 + index)
        assert len(rep) == 100
        rep.observe_query("newcomer.example", 200.0)
        assert len(rep) == 96  # a batch of 5 % evicted, then the newcomer added
        gone = [i for i in range(99) if rep.get(f"plain{i}.example", 200.0) is None]
        assert gone == [0, 1, 2, 3, 4]  # score 0, least recently seen first
        assert rep.get("keep.example", 200.0) is not None
        assert rep.top(1, 200.0)[0].domain == "keep.example"

    def test_empty_names_are_ignored(self):
        rep = engine()
        assert rep.observe_query("", 0.0) == [] and rep.observe_query(".", 0.0) == []
        assert len(rep) == 0
        assert rep.effective_score("unknown.example", 0.0) == 0.0
        assert not rep.forget("unknown.example")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_tracked_domains": 0}, "max_tracked_domains"),
        ({"auto_block_threshold": 1.5}, "auto_block_threshold"),
        ({"auto_block_ttl_secs": 0}, "auto_block_ttl_secs"),
        ({"decay_half_life_secs": 0}, "decay_half_life_secs"),
        ({"weights": {FactorKind.SHORT_TTL: 2.0}}, "weights.short_ttl"),
        ({"nxdomain_ratio": 0.0}, "nxdomain_ratio"),
        ({"burst_queries": 0}, "burst_queries"),
    ],
)
def test_invalid_config_names_the_field(overrides, field):
    with pytest.raises(ReputationConfigError) as info:
        ReputationConfig(**overrides)
    assert info.value.field == f"dns.reputation.{field}"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["query", "nx", "ok", "short", "block", "ioc"]),
            st.sampled_from(["a.example", "b.example", "q8x7kz2mvbt9pw.com", "c.example.co.uk"]),
            st.floats(0, 50_000),
        ),
        max_size=60,
    )
)
def test_scores_stay_in_unit_interval_and_decisions_are_consistent(ops):
    rep = engine(max_tracked_domains=3)
    blocked: set[str] = set()
    for op, name, step in sorted(ops, key=lambda o: o[2]):
        blocked = {d for d in blocked if rep.get(d, step) is not None}  # capacity evictions forget
        if op == "query":
            decisions = rep.observe_query(name, step)
        elif op in ("nx", "ok", "short"):
            rcode = NXDOMAIN if op == "nx" else NOERROR
            decisions = rep.observe_response(name, rcode, {"nx": None, "ok": 300, "short": 5}[op], step)
        elif op == "block":
            decisions = rep.observe_blocklist_hit(name, step)
        else:
            decisions = rep.observe_ioc_hit(name, step)
        for decision in decisions:
            if isinstance(decision, AutoBlock):
                assert decision.score >= 0.8
                assert (decision.alert is not None) == (decision.domain not in blocked)
                blocked.add(decision.domain)
            else:
                assert decision.score < 0.8
                blocked.discard(decision.domain)
        for candidate in rep.top(10, step):
            assert 0.0 <= candidate.effective_score <= candidate.score <= 1.0
        assert len(rep) <= 3

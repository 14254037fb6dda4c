"""The threatintel section and feed definitions (contract §1.7)."""

import pytest

from sentinel_domain.common import ValidationError
from sentinel_domain.threatintel import (
    FeedConfig,
    FeedFormat,
    Ioc,
    IocAction,
    IocKind,
    ParseOptions,
    ThreatIntelConfig,
    ThreatIntelConfigError,
    ThreatType,
    parse_threat_type,
)

FEED = {"id": "feodo", "name": "Feodo", "url": "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"}


def test_feed_defaults_and_options():
    feed = FeedConfig.from_dict(FEED)
    assert (feed.format, feed.enabled, feed.refresh_interval_secs, feed.max_iocs, feed.min_confidence) == (
        FeedFormat.PLAINTEXT,
        True,
        3600,
        500_000,
        0,
    )
    assert (feed.separator, feed.comment_prefix, feed.skip_header, feed.default_action) == (
        ",",
        "#",
        False,
        IocAction.ALERT,
    )
    full = FeedConfig.from_dict(
        FEED
        | {
            "format": "TXT",
            "ip_field": 2,
            "confidence_field": "score",
            "separator": ";",
            "skip_header": True,
            "auth_header": "X-Key: s3cret",
            "default_action": "block",
        }
    )
    opts = full.parse_options(now=5.0)
    assert (
        opts.feed_id,
        opts.value_field,
        opts.confidence_field,
        opts.separator,
        opts.skip_header,
        opts.now,
    ) == (
        "feodo",
        2,
        "score",
        ";",
        True,
        5.0,
    )
    assert opts.action is IocAction.BLOCK
    assert full.parse_options(action=IocAction.ALERT).action is IocAction.ALERT
    assert "s3cret" not in repr(full)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"id": "bad id!"}, "feed id 'bad id!'"),
        ({"name": ""}, "name is required"),
        ({"url": "ftp://x.example/feed"}, "must be an http or https URL"),
        ({"url": "https:///nohost"}, "must be an http or https URL"),
        ({"url": "http://[::1"}, "must be an http or https URL"),
        ({"format": "xml"}, "field 'format'"),
        ({"refresh_interval_secs": 0}, "refresh_interval_secs 0 out of range"),
        ({"max_iocs": -1}, "max_iocs -1 out of range"),
        ({"min_confidence": 101}, "min_confidence 101 out of range 0-100"),
        ({"default_action": "drop"}, "field 'default_action'"),
        ({"separator": ",,"}, "single character"),
        ({"comment_prefix": ""}, "comment_prefix"),
        ({"auth_header": "no colon"}, "auth_header"),
        ({"auth_header": "X: a\r\nInjected: b"}, "auth_header"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"ip_field": -1}, "ip_field"),
        ({"max_junk_fraction": 2}, "max_junk_fraction"),
    ],
)
def test_feed_validation(override: dict[str, object], message: str):
    with pytest.raises(ThreatIntelConfigError, match=message) as info:
        FeedConfig.from_dict(FEED | override)
    assert isinstance(info.value, ValidationError)


def test_section():
    cfg = ThreatIntelConfig.from_dict(
        {"mode": "enforce", "country_confidence_boost": {"ru": 20, "FR": -10}, "feeds": [FEED]}
    )
    assert cfg.mode is IocAction.BLOCK and cfg.enabled
    assert cfg.country_confidence_boost == {"RU": 20, "FR": -10}
    assert [f.id for f in cfg.feeds] == ["feodo"]
    assert ThreatIntelConfig.from_dict({}).mode is IocAction.ALERT
    with pytest.raises(ThreatIntelConfigError, match="duplicate feed id 'feodo'"):
        ThreatIntelConfig.from_dict({"feeds": [FEED, FEED]})
    with pytest.raises(ThreatIntelConfigError, match="too many threat-intel feeds: 101"):
        ThreatIntelConfig.from_dict({"feeds": [FEED | {"id": f"f{i}"} for i in range(101)]})
    with pytest.raises(ThreatIntelConfigError, match="out of range -128-127"):
        ThreatIntelConfig.from_dict({"country_confidence_boost": {"RU": 500}})
    with pytest.raises(ThreatIntelConfigError, match="2 letters"):
        ThreatIntelConfig.from_dict({"country_confidence_boost": {"RUS": 5}})
    with pytest.raises(ThreatIntelConfigError, match="field 'mode'"):
        ThreatIntelConfig.from_dict({"mode": "drop"})


def test_value_helpers():
    assert [
        parse_threat_type(c) for c in ("Malware", "mal", "C&C", "botnet", "scanning", "spammer", "x", None)
    ] == [
        ThreatType.MALWARE,
        ThreatType.MALWARE,
        ThreatType.C2,
        ThreatType.C2,
        ThreatType.SCANNER,
        ThreatType.SPAM,
        ThreatType.OTHER,
        ThreatType.OTHER,
    ]
    ioc = Ioc(IocKind.IP, "198.51.100.0/24", "f", 90)
    assert ioc.boosted(20).confidence == 100 and ioc.boosted(-95).confidence == 0
    assert str(ioc.network) == "198.51.100.0/24" and ioc.address is None
    assert str(Ioc(IocKind.IP, "192.0.2.1").address) == "192.0.2.1"
    assert Ioc(IocKind.DOMAIN, "evil.example").network is None
    with pytest.raises(ThreatIntelConfigError, match="confidence 101 out of range"):
        Ioc(IocKind.IP, "192.0.2.1", confidence=101)
    with pytest.raises(ThreatIntelConfigError, match="separator"):
        ParseOptions(separator="\n")
    with pytest.raises(ThreatIntelConfigError, match="max_junk_fraction"):
        ParseOptions(max_junk_fraction=1.5)

"""Configuration: every layer of precedence, and errors that say file:line:column key."""

import os
from pathlib import Path

import pytest

from sentinel_infrastructure.config import ConfigError, load_config

MINIMAL = "agent:\n  interfaces: [eth0]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def errors(tmp_path: Path, text: str, **kw: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={}, **kw)  # type: ignore[arg-type]
    return str(info.value)


def test_defaults_apply_when_only_interfaces_are_given(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL), environ={})
    agent = loaded.config.agent
    assert (agent.bind_address, agent.http_port, agent.grpc_port, agent.metrics_port) == (
        "127.0.0.1",
        8080,
        50051,
        9090,
    )
    assert (agent.log_level, agent.log_format, agent.xdp_mode) == ("info", "json", "auto")
    assert loaded.config.firewall.mode == "alert" and loaded.config.firewall.default_policy == "pass"
    assert [r.id for r in loaded.firewall_policy.rules] == [
        "anti-lockout-22",
        "anti-lockout-8080",
        "anti-lockout-50051",
    ]


def test_yaml_beats_defaults_env_beats_yaml_cli_beats_env(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  http_port: 8081\n  log_level: debug\n  log_format: text\n")
    assert load_config(path, environ={}).config.agent.http_port == 8081
    env = {"EBPFSENTINEL_AGENT__HTTP_PORT": "8082", "EBPFSENTINEL_AGENT__LOG_LEVEL": "warn"}
    loaded = load_config(path, environ=env)
    assert (loaded.config.agent.http_port, loaded.config.agent.log_level) == (8082, "warn")
    loaded = load_config(path, environ=env, cli_overrides={"agent": {"log_level": "error"}})
    assert (loaded.config.agent.http_port, loaded.config.agent.log_level) == (8082, "error")
    assert loaded.config.agent.log_format == "text"


def test_an_environment_value_the_yaml_parser_chokes_on_is_a_string(tmp_path: Path) -> None:
    # "-___" crashed ruamel's int constructor; as an override it is validated like any string
    with pytest.raises(ConfigError, match=r"agent\.log_level"):
        load_config(write(tmp_path, MINIMAL), environ={"EBPFSENTINEL_AGENT__LOG_LEVEL": "-___"})


def test_client_variables_are_not_daemon_overrides(tmp_path: Path) -> None:
    loaded = load_config(
        write(tmp_path, MINIMAL), environ={"EBPFSENTINEL_PORT": "1", "EBPFSENTINEL_HOST": "x"}
    )
    assert loaded.config.agent.http_port == 8080


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "agent: {}\n",
            "config.yaml:1:1: agent: validation error: Object missing required field `interfaces`",
        ),
        (MINIMAL + "bogus: 1\n", "config.yaml:3:1: bogus: validation error: unknown top-level key 'bogus'"),
        (
            MINIMAL + "  http_port: high\n",
            "config.yaml:3:3: agent.http_port: validation error: Expected `int`",
        ),
        (
            "agent:\n  interfaces: []\n",
            "agent.interfaces: validation error: at least one interface is required",
        ),
        (MINIMAL + "  grpc_port: 8080\n", "http_port, grpc_port and metrics_port must be distinct"),
        (
            MINIMAL + "  bind_address: 0.0.0.0\n",
            "config.yaml:3:3: agent.bind_address: validation error: bind_address",
        ),
        (MINIMAL + "  log_level: loud\n", "invalid value 'loud' for field 'log_level'"),
        (
            MINIMAL + "firewall:\n  mode: maybe\n",
            "config.yaml:4:3: firewall.mode: validation error: invalid value 'maybe'",
        ),
        (
            MINIMAL + "firewall:\n  rules:\n    - {id: r, priority: 1, action: deny, src_ip: 10.0.0.1/33}\n",
            "firewall.rules[0].src_ip: validation error: rule 'r': invalid CIDR notation '10.0.0.1/33'",
        ),
        (
            MINIMAL
            + "firewall:\n  rules:\n    - {id: r, priority: 1, action: deny}\n"
            + "    - {id: r, priority: 2, action: deny}\n",
            "firewall.rules: validation error: duplicate rule id 'r'",
        ),
        ("agent: [\n", "YAML parse error"),
        ("- just\n- a list\n", "top level must be a mapping"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
            "document too large after alias expansion",
        ),
        ("agent:\n  interfaces: [eth0]\n  interfaces: [eth1]\n", "YAML parse error"),
        # found by fuzzing: ruamel raised TypeError on a nested mapping used as a key
        ("agent:\n  interfaces: [eth0]\n  ? {a: {b: 1}}\n  : x\n", "keys must be plain values"),
        # found by fuzzing: ruamel reads "-___" as a YAML 1.2 int and raises IndexError on it
        ("-" + "_" * 120 + "\n", "YAML parse error: unreadable value"),
        (MINIMAL + "  http_port: -___\n", "YAML parse error: unreadable value"),
        (
            "x: !!python/object:os.system {}\n",
            "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        (MINIMAL + "ids: !custom 1\n", "unsupported YAML tag '!custom'"),
    ],
)
def test_errors_are_located(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in errors(tmp_path, text)


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    assert "nesting deeper than 64 levels" in errors(
        tmp_path, MINIMAL + "ids: " + "[" * 100 + "]" * 100 + "\n"
    )


def test_non_utf8_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"agent:\n  interfaces: [\xff]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, environ={})
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.yaml", environ={})


def test_a_device_or_fifo_is_refused_without_reading_it(tmp_path: Path) -> None:
    # /dev/zero would be read until memory runs out; a FIFO with no writer would block forever.
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(ConfigError, match="not a regular file"):
            load_config(path, environ={})
    rules = tmp_path / "rules.fifo"
    os.mkfifo(rules)
    assert "not a regular file" in errors(tmp_path, MINIMAL + f"ids:\n  rules_files: [{rules}]\n")


def test_a_feed_error_names_the_feed_position(tmp_path: Path) -> None:
    text = MINIMAL + "threatintel:\n  feeds:\n    - {id: a, url: 'http://x/y', format: plaintext}\n"
    assert "threatintel.feeds[0].name" in errors(tmp_path, text)


def test_upstream_sections_are_accepted(tmp_path: Path) -> None:
    text = MINIMAL + "ddos:\n  enabled: false\nnat: {}\nenterprise: {license: x}\n"
    assert load_config(write(tmp_path, text), environ={}).config.ddos == {"enabled": False}


def test_unknown_nested_keys_are_located_warnings_and_strict_errors(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + "  htp_port: 1\nfirewall:\n  rules:\n    - {id: a, priority: 1, action: deny, colour: red}\n"
        + "ratelimit:\n  burst: 3\nnat: {anything: goes}\n"
    )
    path = write(tmp_path, text)
    loaded = load_config(path, environ={})
    rendered = [w.render("c.yaml") for w in loaded.warnings]
    assert rendered == [
        "c.yaml:3:3: agent.htp_port: unknown key 'htp_port'",
        "c.yaml:6:42: firewall.rules[0].colour: unknown key 'colour'",
        "c.yaml:8:3: ratelimit.burst: unknown key 'burst'",
    ]  # opaque upstream sections (nat) are not second-guessed
    with pytest.raises(ConfigError, match=r"agent\.htp_port: unknown key 'htp_port'"):
        load_config(path, environ={}, strict=True)


def test_a_world_readable_file_with_secrets_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "auth:\n  api_keys: [{name: ops, key: sk-secret}]\n")
    path.chmod(0o644)
    with pytest.raises(ConfigError, match=r"readable by every user \(mode 644\).*auth.api_keys\[\].key"):
        load_config(path, environ={})
    path.chmod(0o640)
    assert load_config(path, environ={}).config.auth.api_keys[0].key == "sk-secret"
    plain = write(tmp_path, MINIMAL)
    plain.chmod(0o644)
    load_config(plain, environ={})  # no secrets: readable is fine


def _documents() -> list[tuple[str, str]]:
    """Every config the repository ships plus the config fuzz corpus (odd but mostly valid YAML)."""
    repo = Path(__file__).resolve().parents[3]
    paths = [
        repo / "packaging" / "config.example.yaml",
        *sorted((repo / "tests/fuzz/corpus/config_yaml").iterdir()),
    ]
    paths += sorted((repo / "tests/integration/fixtures/alerting").glob("*.yaml"))
    out = []
    for path in paths:
        try:
            out.append((path.name, path.read_bytes().decode("utf-8-sig")))
        except UnicodeDecodeError:
            continue
    return out


def test_the_fast_parser_reads_what_the_located_parser_reads_or_steps_aside() -> None:
    """``load_config`` tries the C parser first and keeps its tree only when it holds plain values;
    on every document where it does, the round-trip parser must give the same data."""
    from sentinel_infrastructure.config.loader import _UNPARSED, _parse_yaml, _parse_yaml_fast, _plain

    compared = 0
    for name, text in _documents():
        fast = _parse_yaml_fast(text)
        if fast is _UNPARSED:
            continue
        located = _parse_yaml(text, name)  # raises if the fast parser accepted what it refuses
        try:
            want = _plain(located)
        except ValueError:
            with pytest.raises(ValueError):
                _plain(fast)
            continue
        assert _plain(fast) == want, name
        compared += 1
    assert compared >= 100

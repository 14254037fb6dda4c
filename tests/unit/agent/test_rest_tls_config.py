"""Validation of ``agent.tls``, ``agent.api_rate_limit`` and ``agent.event_workers`` (contract §1.1),
and the TLS context the REST listener builds from them."""

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sentinel_agent.rest.tls import RestServerConfig, configure_tls
from sentinel_infrastructure.config import ConfigError, load_config


def write_cert(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def load(tmp_path: Path, agent_extra: str) -> object:
    path = tmp_path / "agent.yaml"
    path.write_text(f"agent:\n  interfaces: [lo]\n  data_dir: {tmp_path / 'data'}\n{agent_extra}")
    return load_config(path)


def issues(tmp_path: Path, agent_extra: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, agent_extra)
    return {issue.key: issue.message for issue in caught.value.issues}


def test_tls_files_are_required_and_must_be_readable(tmp_path: Path) -> None:
    found = issues(tmp_path, "  tls: {enabled: true}\n")
    assert "cert_path is required" in found["agent.tls.cert_path"]
    assert "key_path is required" in found["agent.tls.key_path"]
    found = issues(tmp_path, "  tls: {enabled: true, cert_path: nope.pem, key_path: /nonexistent/k.pem}\n")
    assert "nope.pem' does not exist" in found["agent.tls.cert_path"]
    assert "does not exist" in found["agent.tls.key_path"]


def test_issues_carry_their_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "  event_workers: 0\n  api_rate_limit:\n    write_burst: 0\n")
    rendered = str(caught.value)
    assert "agent.yaml:4:" in rendered and "event_workers must be between 1 and 1024" in rendered
    assert "agent.yaml:6:" in rendered and "write_burst must be between 1" in rendered


def test_tls_relative_paths_resolve_next_to_the_config(tmp_path: Path) -> None:
    write_cert(tmp_path)
    loaded = load(tmp_path, "  tls: {enabled: true, cert_path: cert.pem, key_path: key.pem}\n")
    hc = RestServerConfig()
    configure_tls(hc, loaded.config.agent.tls, tmp_path)  # type: ignore[attr-defined]
    assert hc.certfile == str(tmp_path / "cert.pem") and hc.ssl_enabled
    context = hc.create_ssl_context()
    assert context is not None and context.minimum_version is ssl.TLSVersion.TLSv1_3


def test_allow_tls12_lowers_the_minimum(tmp_path: Path) -> None:
    write_cert(tmp_path)
    extra = "  tls: {enabled: true, cert_path: cert.pem, key_path: key.pem, allow_tls12: true}\n"
    loaded = load(tmp_path, extra)
    hc = RestServerConfig()
    configure_tls(hc, loaded.config.agent.tls, tmp_path)  # type: ignore[attr-defined]
    context = hc.create_ssl_context()
    assert context is not None and context.minimum_version is ssl.TLSVersion.TLSv1_2


def test_tls_off_leaves_the_listener_plain(tmp_path: Path) -> None:
    loaded = load(tmp_path, "")
    hc = RestServerConfig()
    configure_tls(hc, loaded.config.agent.tls, tmp_path)  # type: ignore[attr-defined]
    assert not hc.ssl_enabled and hc.create_ssl_context() is None


@pytest.mark.parametrize(
    ("extra", "key", "text"),
    [
        ("  tls: {pq_mode: require, allow_tls12: true}\n", "agent.tls.allow_tls12", "cannot be combined"),
        ("  tls: {pq_mode: require}\n", "agent.tls.pq_mode", "X25519MLKEM768"),
        ("  tls: {pq_mode: maybe}\n", "agent.tls.pq_mode", "expected one of prefer, require, disable"),
        ("  api_rate_limit: {write_per_second: 0}\n", "agent.api_rate_limit.write_per_second", "between 1"),
        ("  api_rate_limit: {write_burst: -3}\n", "agent.api_rate_limit.write_burst", "between 1"),
        ("  event_workers: 0\n", "agent.event_workers", "between 1 and 1024"),
    ],
)
def test_refused_settings(tmp_path: Path, extra: str, key: str, text: str) -> None:
    assert text in issues(tmp_path, extra)[key]


@pytest.mark.parametrize("mode", ["prefer", "disable", "PREFER"])
def test_pq_modes_python_can_honour_are_accepted(tmp_path: Path, mode: str) -> None:
    load(tmp_path, f"  tls: {{pq_mode: {mode}}}\n")

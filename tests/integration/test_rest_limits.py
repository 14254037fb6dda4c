"""The REST listener of a real agent: per-IP rate limits (contract §2.0), security headers, CORS,
error bodies, and TLS (``agent.tls``: TLS 1.3 minimum, a TLS 1.2-only client is refused)."""

import http.client
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from _agent import AgentProcess, agent_yaml, free_port

from sentinel_agent.lab import VethLab

pytestmark = pytest.mark.privileged


def call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        response.text = response.read().decode()  # type: ignore[attr-defined]
        return response
    finally:
        conn.close()


LIMITED = """  api_rate_limit: {write_per_second: 1, write_burst: 3, exempt_loopback: false}
firewall:
  mode: block
dlp:
  enabled: false
"""


def test_rate_limits_headers_and_errors_on_a_live_agent(tmp_path: Path) -> None:
    with VethLab(prefix="lim") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        config.write_text(agent_yaml(lab.host_if, port, "", tmp_path / "data").rstrip("\n") + "\n" + LIMITED)
        with AgentProcess(config, port, tmp_path / "agent.log", ready_timeout=60):
            # Writes: a burst of 3, then 429 with Retry-After (the refused id is a 404 answer).
            statuses = [call(port, "DELETE", "/api/v1/ratelimit/rules/none").status for _ in range(3)]
            assert 429 not in statuses
            limited = call(port, "DELETE", "/api/v1/ratelimit/rules/none")
            assert limited.status == 429
            assert limited.text == "Too Many Requests"
            assert int(limited.getheader("Retry-After")) >= 1
            assert limited.getheader("X-Frame-Options") == "DENY"
            # Reads have their own bucket (burst 200), /metrics its own (burst 10).
            assert call(port, "GET", "/api/v1/firewall/rules").status == 200
            metrics = [call(port, "GET", "/metrics").status for _ in range(11)]
            assert metrics[:10] == [200] * 10 and metrics[10] == 429
            # Health is never limited.
            assert {call(port, "GET", "/healthz").status for _ in range(20)} == {200}

            # Every response carries the security headers; unknown routes get the error body.
            missing = call(port, "GET", "/api/v1/no-such-thing")
            assert missing.status == 404
            assert json.loads(missing.text)["error"]["code"] == "NOT_FOUND"
            assert missing.getheader("X-Content-Type-Options") == "nosniff"
            assert missing.getheader("Content-Security-Policy") == "frame-ancestors 'none'"
            assert missing.getheader("Strict-Transport-Security") is None  # no TLS here

            # CORS: a localhost origin is allowed, any other is not.
            preflight = {"Access-Control-Request-Method": "DELETE"}
            local = call(
                port,
                "OPTIONS",
                "/api/v1/firewall/rules",
                headers={"Origin": "http://localhost:3000", **preflight},
            )
            assert local.getheader("Access-Control-Allow-Origin") == "http://localhost:3000"
            other = call(
                port,
                "OPTIONS",
                "/api/v1/firewall/rules",
                headers={"Origin": "http://evil.example", **preflight},
            )
            assert other.getheader("Access-Control-Allow-Origin") is None

            # swagger_ui is off by default: no document, no UI.
            assert call(port, "GET", "/api-docs/openapi.json").status == 404
            assert call(port, "GET", "/swagger-ui").status == 404


# -- TLS ---------------------------------------------------------------------------------------
def make_certificate(folder: Path) -> Path:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "tls").mkdir()
    (folder / "tls" / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = folder / "tls" / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return folder / "tls" / "cert.pem"


class HttpsAgent(AgentProcess):
    """The agent, talked to over HTTPS with ``context`` (which trusts its certificate)."""

    context: ssl.SSLContext

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=15, context=self.context) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None


def test_rest_over_tls_13_refuses_a_tls_12_client(tmp_path: Path) -> None:
    ca = make_certificate(tmp_path)
    with VethLab(prefix="tls") as lab:
        port = free_port()
        config = tmp_path / "agent.yaml"
        body = (
            "  tls: {enabled: true, cert_path: tls/cert.pem, key_path: tls/key.pem}\ndlp:\n  enabled: false\n"
        )
        config.write_text(agent_yaml(lab.host_if, port, "", tmp_path / "data").rstrip("\n") + "\n" + body)
        HttpsAgent.context = ssl.create_default_context(cafile=str(ca))
        with HttpsAgent(config, port, tmp_path / "agent.log", ready_timeout=60) as agent:
            assert agent.get("/healthz") == (200, {"status": "ok"})
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=HttpsAgent.context)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            assert response.status == 200
            assert "max-age=" in (response.getheader("Strict-Transport-Security") or "")
            assert conn.sock.version() == "TLSv1.3"  # type: ignore[union-attr]
            conn.close()

            old = ssl.create_default_context(cafile=str(ca))
            old.maximum_version = ssl.TLSVersion.TLSv1_2
            refused = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=old)
            with pytest.raises(ssl.SSLError):
                refused.request("GET", "/healthz")
            refused.close()

            untrusted = http.client.HTTPSConnection("127.0.0.1", port, timeout=10)  # system CAs only
            with pytest.raises(ssl.SSLCertVerificationError):
                untrusted.request("GET", "/healthz")
            untrusted.close()

            plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            with pytest.raises((http.client.HTTPException, ConnectionError)):
                plain.request("GET", "/healthz")
                plain.getresponse().read()
            plain.close()

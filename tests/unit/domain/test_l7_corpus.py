"""The stored malformed-input corpus (fixtures/l7/malformed_corpus.jsonl): every case gives the
outcome it records, and nothing else, through the parsers and through ``L7Engine.inspect``.

The corpus doubles as a seed set for coverage-guided fuzzers (atheris) over the same parsers.
"""

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sentinel_domain.common import PacketHeader, Protocol
from sentinel_domain.l7 import (
    FtpParseError,
    Http2ParseError,
    HttpParseError,
    L7Engine,
    L7ParseError,
    L7Protocol,
    NeedMoreData,
    SmbParseError,
    SmtpParseError,
    TlsParseError,
    parse_client_hello,
    parse_ftp_commands,
    parse_grpc,
    parse_http_requests,
    parse_smb,
    parse_smtp_commands,
    rule_from_dict,
)

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent / "fixtures" / "l7" / "malformed_corpus.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]
PARSERS: dict[str, tuple[Callable[[bytes], object], type[L7ParseError]]] = {
    "http": (parse_http_requests, HttpParseError),
    "tls": (parse_client_hello, TlsParseError),
    "grpc": (parse_grpc, Http2ParseError),
    "smtp": (parse_smtp_commands, SmtpParseError),
    "ftp": (parse_ftp_commands, FtpParseError),
    "smb": (parse_smb, SmbParseError),
}
MESSAGES = {"http": "requests", "grpc": "requests", "smtp": "commands", "ftp": "commands", "smb": "messages"}
PACKET = PacketHeader(
    ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.2"), Protocol.TCP, 40000, 443
)
ENGINE = L7Engine(
    rule_from_dict({"id": f"all-{p.value}", "priority": 1 + i, "action": "deny", "protocol": p.value})
    for i, p in enumerate(L7Protocol)
)


def test_corpus_covers_every_protocol_and_outcome() -> None:
    assert {c["protocol"] for c in CORPUS} == set(PARSERS)
    assert {c["expect"] for c in CORPUS} == {"ok", "error", "need_more"}


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['protocol']}: {c['name']}" for c in CORPUS])
def test_corpus_case(case: dict[str, str]) -> None:
    data = bytes.fromhex(case["hex"])
    parse, error = PARSERS[case["protocol"]]
    if case["expect"] == "error":
        with pytest.raises(error):
            parse(data)
        return
    result = parse(data)
    if case["protocol"] == "tls":
        assert isinstance(result, NeedMoreData) is (case["expect"] == "need_more")
        return
    messages = getattr(result, MESSAGES[case["protocol"]])
    assert result.error is None  # type: ignore[attr-defined]
    if case["expect"] == "need_more":
        assert isinstance(result.need_more, NeedMoreData)  # type: ignore[attr-defined]
    else:
        assert messages


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['protocol']}: {c['name']}" for c in CORPUS])
def test_inspect_never_raises_on_the_corpus(case: dict[str, str]) -> None:
    data = bytes.fromhex(case["hex"])
    forced = ENGINE.inspect(data, PACKET, L7Protocol(case["protocol"]))
    assert (forced.error is not None) is (case["expect"] == "error")
    assert all(d.rule_id == f"all-{case['protocol']}" for d in forced.decisions)
    detected = ENGINE.inspect(data, PACKET)
    assert len(detected.decisions) == len(detected.messages)

"""Protocol detection by byte signatures (contract §7.7): order and edge cases."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import L7Protocol, detect_protocol

P = L7Protocol
CASES = {
    "TLS 1.0 record": (b"\x16\x03\x01\x02\x00\x01", P.TLS),
    "TLS 1.2 record": (b"\x16\x03\x03\x00\x10", P.TLS),
    "TLS 1.3 record version byte 4": (b"\x16\x03\x04\x00\x10", P.TLS),
    "SSL 3.0 record is not TLS": (b"\x16\x03\x00\x00\x10", None),
    "TLS record header cut to 2 bytes": (b"\x16\x03", None),
    "SMB2 over direct TCP": (b"\x00\x00\x00\x78\xfeSMB@\x00", P.SMB),
    "SMB1": (b"\x00\x00\x00\x2f\xffSMBr", P.SMB),
    "gRPC preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04", P.GRPC),
    "partial preface": (b"PRI * HTTP/2.0\r\n", None),
    "SMTP EHLO": (b"EHLO mail.example\r\n", P.SMTP),
    "SMTP lower-case helo": (b"helo x\r\n", P.SMTP),
    "SMTP DATA alone": (b"DATA\r\n", P.SMTP),
    "SMTP greeting": (b"220 mx.example ESMTP Postfix\r\n", P.SMTP),
    "QUIT is SMTP (tried first)": (b"QUIT\r\n", P.SMTP),
    "FTP greeting": (b"220 ProFTPD Server (ftp.example) ready\r\n", P.FTP),
    "FTP greeting in lower case": (b"220 welcome to my ftp server\r\n", P.FTP),
    "FTP USER": (b"USER anonymous\r\n", P.FTP),
    "FTP PWD": (b"PWD\r\n", P.FTP),
    "FTP verb must end the word": (b"USERNAME bob\r\n", None),
    "HTTP GET": (b"GET / HTTP/1.1\r\n", P.HTTP),
    "HTTP lower-case method": (b"post /x HTTP/1.1\r\n", P.HTTP),
    "HTTP OPTIONS": (b"OPTIONS * HTTP/1.1\r\n", P.HTTP),
    "HTTP method without space": (b"GETX / HTTP/1.1", None),
    "SSH banner (not covered)": (b"SSH-2.0-OpenSSH_9.6\r\n", None),
    "empty": (b"", None),
}


@pytest.mark.parametrize("data, expected", CASES.values(), ids=CASES.keys())
def test_detection(data: bytes, expected: L7Protocol | None) -> None:
    assert detect_protocol(data) is expected


def test_accepts_memoryview_and_bytearray() -> None:
    assert detect_protocol(memoryview(b"GET / HTTP/1.1")) is P.HTTP
    assert detect_protocol(bytearray(b"\x16\x03\x01")) is P.TLS


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_never_raises(data: bytes) -> None:
    assert detect_protocol(data) in (None, *L7Protocol)

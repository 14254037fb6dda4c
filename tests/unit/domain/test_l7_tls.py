"""TLS ClientHello parser and JA4: fields, reassembly, lying lengths, OpenSSL as an oracle."""

import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel_domain.l7 import (
    ClientHello,
    NeedMoreData,
    TlsAnomaly,
    TlsParseError,
    is_grease,
    ja4,
    ja4_raw,
    parse_client_hello,
)

# --- builders (RFC 8446 §4.1.2 layout) ----------------------------------------------------------


def u8(n: int) -> bytes:
    return n.to_bytes(1, "big")


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def vec8(data: bytes) -> bytes:
    return u8(len(data)) + data


def vec16(data: bytes) -> bytes:
    return u16(len(data)) + data


def ext(ext_type: int, data: bytes = b"") -> bytes:
    return u16(ext_type) + vec16(data)


def sni(*names: bytes) -> bytes:
    return ext(0x0000, vec16(b"".join(b"\x00" + vec16(n) for n in names)))


def alpn(*protocols: bytes) -> bytes:
    return ext(0x0010, vec16(b"".join(vec8(p) for p in protocols)))


def u16_list(ext_type: int, values: list[int], one_byte_length: bool = False) -> bytes:
    body = b"".join(u16(v) for v in values)
    return ext(ext_type, vec8(body) if one_byte_length else vec16(body))


def body(
    ciphers: list[int] | None = None,
    extensions: list[bytes] | None = None,
    session_id: bytes = b"\x11" * 32,
    version: int = 0x0303,
    compression: bytes = b"\x00",
) -> bytes:
    out = u16(version) + b"\x42" * 32 + vec8(session_id)
    out += vec16(b"".join(u16(c) for c in (ciphers if ciphers is not None else [0x1301, 0xC02F])))
    out += vec8(compression)
    if extensions is not None:
        out += vec16(b"".join(extensions))
    return out


def handshake(hello_body: bytes, msg_type: int = 1) -> bytes:
    return u8(msg_type) + len(hello_body).to_bytes(3, "big") + hello_body


def records(message: bytes, size: int = 16384, version: int = 0x0301) -> bytes:
    out = b""
    for i in range(0, len(message), size):
        chunk = message[i : i + size]
        out += b"\x16" + u16(version) + vec16(chunk)
    return out


def wire(**kw: object) -> bytes:
    return records(handshake(body(**kw)))  # type: ignore[arg-type]


def hello(data: bytes) -> ClientHello:
    parsed = parse_client_hello(data)
    assert isinstance(parsed, ClientHello), parsed
    return parsed


# The JA4 specification's worked example (FoxIO technical_details/JA4.md), with GREASE added.
SPEC_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014]
SPEC_CIPHERS += [0x009C, 0x009D, 0x002F, 0x0035]
SPEC_EXT_ORDER = [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012]
SPEC_EXT_ORDER += [0x002B, 0xFF01, 0x000B, 0x000A, 0x0015]
SPEC_SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def spec_hello_bytes() -> bytes:
    built = {
        0x0000: sni(b"example.com"),
        0x0010: alpn(b"h2", b"http/1.1"),
        0x000D: u16_list(0x000D, SPEC_SIGALGS),
        0x002B: u16_list(0x002B, [0x3A3A, 0x0304, 0x0303], one_byte_length=True),
        0x000A: u16_list(0x000A, [0x2A2A, 0x001D, 0x0017]),
    }
    exts = [ext(0x0A0A)] + [built.get(t, ext(t, b"\x00")) for t in SPEC_EXT_ORDER] + [ext(0x1A1A, b"\x00")]
    return wire(ciphers=[0x0A0A, *SPEC_CIPHERS], extensions=exts)


# --- JA4 ----------------------------------------------------------------------------------------


def test_ja4_matches_the_specification_example() -> None:
    parsed = hello(spec_hello_bytes())
    assert ja4(parsed) == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert ja4_raw(parsed) == (
        "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
        "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"
        "0403,0804,0401,0503,0805,0501,0806,0601"
    )


def test_ja4_original_order_matches_the_specification_example() -> None:
    parsed = hello(spec_hello_bytes())
    assert ja4(parsed, original_order=True) == "t13d1516h2_acb858a92679_18f69afefd3d"
    assert ja4_raw(parsed, original_order=True) == (
        "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"
        "001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_"
        "0403,0804,0401,0503,0805,0501,0806,0601"
    )


def fake(**kw: object) -> ClientHello:
    fields: dict[str, object] = {
        "record_version": 0x0301,
        "legacy_version": 0x0303,
        "random": b"\x00" * 32,
        "session_id": b"",
        "cipher_suites": (0x1301,),
        "compression_methods": b"\x00",
        "extensions": (),
    }
    fields.update(kw)
    return ClientHello(**fields)  # type: ignore[arg-type]


def test_ja4_without_signature_algorithms_hashes_extensions_alone() -> None:
    exts = tuple(SPEC_EXT_ORDER)
    assert ja4(fake(extensions=exts, supported_versions=(0x0304,))).endswith("_6d807ffa2a79")


ALPN_CASES = {
    "h2": (b"h2", "h2"),
    "http/1.1": (b"http/1.1", "h1"),
    "single character": (b"x", "xx"),
    "0xAB": (b"\xab", "ab"),
    "0xAB 0xCD": (b"\xab\xcd", "ad"),
    "0x30 0xAB": (b"\x30\xab", "3b"),
    "0x30 0x31 0xAB 0xCD": (b"\x30\x31\xab\xcd", "3d"),
    "0x30 0xAB 0xCD 0x31": (b"\x30\xab\xcd\x31", "01"),
}


@pytest.mark.parametrize("value, chars", ALPN_CASES.values(), ids=ALPN_CASES.keys())
def test_ja4_alpn_characters(value: bytes, chars: str) -> None:
    assert ja4(fake(alpn_protocols=(value, b"other"))).split("_")[0][-2:] == chars


A_CASES = {
    "no ALPN, no SNI, legacy TLS 1.2": ({}, "t12i0100"),
    "legacy TLS 1.0": ({"legacy_version": 0x0301}, "t10i0100"),
    "SSL 3.0": ({"legacy_version": 0x0300}, "ts3i0100"),
    "unknown version": ({"legacy_version": 0x0999}, "t00i0100"),
    "supported_versions wins over legacy": ({"supported_versions": (0x0303, 0x0304)}, "t13i0100"),
    "GREASE-only supported_versions falls back": ({"supported_versions": (0x7A7A,)}, "t12i0100"),
    "SNI present": ({"extensions": (0x0000,)}, "t12d0101"),
    "GREASE ciphers and extensions are not counted": (
        {"cipher_suites": (0x0A0A, 0x1301, 0xFAFA), "extensions": (0x2A2A, 0x000A)},
        "t12i0101",
    ),
    "counts cap at 99": (
        {"cipher_suites": tuple(range(1, 150)), "extensions": tuple(range(1, 120))},
        "t12i9999",
    ),
}


@pytest.mark.parametrize("fields, prefix", A_CASES.values(), ids=A_CASES.keys())
def test_ja4_a_section(fields: dict[str, object], prefix: str) -> None:
    assert ja4(fake(**fields)).startswith(prefix)


def test_ja4_empty_lists_hash_to_zeros() -> None:
    # Only GREASE ciphers; only SNI and ALPN extensions (both left out of the c hash).
    value = ja4(fake(cipher_suites=(0x0A0A,), extensions=(0x0000, 0x0010), alpn_protocols=(b"h2",)))
    assert value == "t12d0002h2_000000000000_000000000000"


def test_grease_values() -> None:
    assert [v for v in range(0x10000) if is_grease(v)] == [0x0A0A + 0x1010 * i for i in range(16)]


# --- parsing ------------------------------------------------------------------------------------


def test_fields_of_a_hello() -> None:
    data = wire(
        extensions=[
            sni(b"Www.Example.com"),
            alpn(b"h2"),
            u16_list(0x002B, [0x0304], one_byte_length=True),
            u16_list(0x000A, [0x001D]),
            u16_list(0x000D, [0x0403]),
        ],
        session_id=b"\x01\x02",
    )
    parsed = hello(data)
    assert parsed.sni == "Www.Example.com"
    assert parsed.alpn == ("h2",)
    assert parsed.supported_versions == (0x0304,)
    assert parsed.supported_groups == (0x001D,)
    assert parsed.signature_algorithms == (0x0403,)
    assert parsed.session_id == b"\x01\x02"
    assert parsed.cipher_suites == (0x1301, 0xC02F)
    assert parsed.extensions == (0x0000, 0x0010, 0x002B, 0x000A, 0x000D)
    assert parsed.version == 0x0304
    assert parsed.record_version == 0x0301 and parsed.legacy_version == 0x0303
    assert parsed.length == len(data) and parsed.records == 1
    assert parsed.anomalies == frozenset()


def test_hello_without_extensions_block() -> None:
    parsed = hello(wire(extensions=None))
    assert parsed.extensions == () and parsed.sni is None
    assert ja4(parsed).startswith("t12i020000_")
    assert ja4(parsed).endswith("_000000000000")


ANOMALY_CASES = {
    "multiple SNI names (first wins)": ([sni(b"a.com", b"b.com")], TlsAnomaly.MULTIPLE_SNI),
    "non-ASCII SNI": ([sni(b"\xc3\xa9.com")], TlsAnomaly.SNI_NOT_ASCII),
    "unknown name type": ([ext(0, vec16(b"\x07" + vec16(b"x")))], TlsAnomaly.UNKNOWN_SNI_TYPE),
    "duplicate extension": ([ext(0x0017), ext(0x0017)], TlsAnomaly.DUPLICATE_EXTENSION),
    "pre_shared_key not last": ([ext(0x0029, b"\x00"), ext(0x0017)], TlsAnomaly.PSK_NOT_LAST),
    "ECH outer hello": ([sni(b"public.example"), ext(0xFE0D, b"\x00")], TlsAnomaly.ENCRYPTED_CLIENT_HELLO),
}


@pytest.mark.parametrize("exts, anomaly", ANOMALY_CASES.values(), ids=ANOMALY_CASES.keys())
def test_anomalies(exts: list[bytes], anomaly: TlsAnomaly) -> None:
    assert anomaly in hello(wire(extensions=exts)).anomalies


def test_multiple_sni_keeps_the_first_host_name() -> None:
    parsed = hello(wire(extensions=[sni(b"first.example", b"second.example")]))
    assert parsed.sni == "first.example"
    assert parsed.server_names == ("first.example", "second.example")


@pytest.mark.parametrize("size", [2, 3, 4, 5, 17, 100])
def test_hello_split_across_records_is_reassembled(size: int) -> None:
    message = handshake(body(extensions=[sni(b"split.example"), alpn(b"h2")]))
    parsed = hello(records(message, size=size))
    assert parsed.sni == "split.example"
    assert parsed.records == -(-len(message) // size)
    assert TlsAnomaly.FRAGMENTED in parsed.anomalies
    assert ja4(parsed) == ja4(hello(records(message)))


def test_record_count_cap() -> None:
    message = handshake(body(extensions=[sni(b"x" * 100)]))
    with pytest.raises(TlsParseError, match="more than 64 records"):
        parse_client_hello(records(message, size=1))


def test_every_prefix_is_need_more_data() -> None:
    data = spec_hello_bytes()
    for cut in range(len(data)):
        result = parse_client_hello(data[:cut])
        assert isinstance(result, NeedMoreData), cut
        assert result.at_least > cut


def test_trailing_handshake_data_is_flagged() -> None:
    message = handshake(body()) + handshake(b"", msg_type=20)
    assert TlsAnomaly.TRAILING_HANDSHAKE_DATA in hello(records(message)).anomalies


PREFIX = u16(0x0303) + b"\x00" * 32 + b"\x00"  # legacy_version, random, empty session id
LYING = {
    "not handshake (application data)": b"\x17\x03\x03\x00\x05hello",
    "ServerHello, not ClientHello": records(handshake(body(), msg_type=2)),
    "record version 0x0200": b"\x16\x02\x00" + vec16(handshake(body())),
    "zero-length record": b"\x16\x03\x01\x00\x00",
    "record longer than 2^14": b"\x16\x03\x01\x40\x01" + b"\x01" + b"\x00" * 0x4000,
    "handshake length above the cap": b"\x16\x03\x01\x00\x04\x01\x01\x00\x00",
    "hello interrupted by an alert record": b"\x16\x03\x01\x00\x06\x01\x00\x01\x00\x03\x03"
    + b"\x15\x03\x03\x00\x02\x02\x28",
    "SSLv2-compatible hello": b"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10" + b"\x00" * 37,
    "handshake length shorter than its body": records(b"\x01\x00\x00\x30" + body()[:0x30]),
    "session id longer than 32": records(handshake(body(session_id=b"\x00" * 33))),
    "odd cipher suites length": records(handshake(PREFIX + b"\x00\x03\x13\x01\x00")),
    "no cipher suites": records(handshake(PREFIX + b"\x00\x00\x01\x00")),
    "no compression methods": records(handshake(body(compression=b""))),
    "extensions block length lies": records(handshake(body(extensions=[])[:-2] + b"\x00\x10" + ext(0x17))),
    "extension length lies": records(handshake(body(extensions=[b"\x00\x17\x00\x09\x00"]))),
    "trailing bytes after extensions": records(handshake(body(extensions=[ext(0x17)]) + b"\x00")),
    "SNI list length lies": records(handshake(body(extensions=[ext(0, b"\x00\x09\x00\x00\x01a")]))),
    "SNI host_name length lies": records(handshake(body(extensions=[ext(0, b"\x00\x04\x00\x00\x09a")]))),
    "SNI truncated (empty extension)": records(handshake(body(extensions=[ext(0)]))),
    "empty SNI host_name": records(handshake(body(extensions=[sni(b"")]))),
    "empty ALPN protocol name": records(handshake(body(extensions=[ext(0x10, vec16(b"\x00"))]))),
    "ALPN list with trailing byte": records(handshake(body(extensions=[ext(0x10, vec16(b"\x02h2") + b"x")]))),
    "odd supported_versions": records(handshake(body(extensions=[ext(0x2B, b"\x03\x03\x04\x03")]))),
    "empty supported_groups": records(handshake(body(extensions=[ext(0x0A, b"\x00\x00")]))),
    "odd signature_algorithms": records(handshake(body(extensions=[ext(0x0D, b"\x00\x01\x04")]))),
}


@pytest.mark.parametrize("data", LYING.values(), ids=LYING.keys())
def test_lying_lengths_and_wrong_types_raise(data: bytes) -> None:
    with pytest.raises(TlsParseError):
        parse_client_hello(data)


def test_cap_is_configurable() -> None:
    data = spec_hello_bytes()
    with pytest.raises(TlsParseError, match="exceeds the 100-byte cap"):
        parse_client_hello(data, max_hello_bytes=100)


# --- OpenSSL as an oracle -----------------------------------------------------------------------


def openssl_hello(server_name: str, alpn_protocols: list[str]) -> tuple[bytes, ssl.SSLContext]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if alpn_protocols:
        context.set_alpn_protocols(alpn_protocols)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read(), context


@pytest.mark.parametrize("alpn_protocols", [["h2", "http/1.1"], ["http/1.1"], []])
def test_parses_an_openssl_client_hello(alpn_protocols: list[str]) -> None:
    data, context = openssl_hello("api.example.org", alpn_protocols)
    parsed = hello(data)
    assert parsed.sni == "api.example.org"
    assert list(parsed.alpn) == alpn_protocols
    assert parsed.length == len(data)
    offered = {c["id"] & 0xFFFF for c in context.get_ciphers()}
    assert set(parsed.cipher_suites) - {0x00FF} == offered
    fingerprint = ja4(parsed)
    expected_alpn = {"h2": "h2", "http/1.1": "h1"}.get(alpn_protocols[0], "") if alpn_protocols else "00"
    assert 0x0304 in parsed.supported_versions
    assert fingerprint.startswith("t13d")
    assert fingerprint.split("_")[0].endswith(expected_alpn)
    assert fingerprint.split("_")[0][4:6] == f"{len(parsed.cipher_suites):02d}"


def test_openssl_hello_at_every_cut_is_need_more_data() -> None:
    data, _ = openssl_hello("cut.example", ["h2"])
    for cut in range(0, len(data), 7):
        assert isinstance(parse_client_hello(data[:cut]), NeedMoreData)


# --- hostile input ------------------------------------------------------------------------------


def _check(data: bytes) -> None:
    try:
        result = parse_client_hello(data)
    except TlsParseError:
        return
    assert isinstance(result, ClientHello | NeedMoreData)
    if isinstance(result, ClientHello):
        assert len(ja4(result).split("_")) == 3
        assert result.length <= len(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=1024))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _check(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_behind_a_valid_record_header(data: bytes) -> None:
    _check(b"\x16\x03\x01" + vec16(b"\x01" + len(data).to_bytes(3, "big") + data))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([spec_hello_bytes(), wire(extensions=[sni(b"a.b", b"c.d"), alpn(b"h2")]), wire()]),
    st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255), st.sampled_from("fid")), max_size=6),
)
def test_mutated_hellos_never_raise_anything_else(seed: bytes, edits: list[tuple[int, int, str]]) -> None:
    data = bytearray(seed)
    for where, byte, kind in edits:
        at = where % (len(data) + 1)
        if kind == "f" and at < len(data):
            data[at] ^= byte or 1
        elif kind == "i":
            data[at:at] = bytes([byte])
        else:
            del data[at : at + 1 + byte % 8]
    _check(bytes(data))


# --- truncated captures (partial=True) ----------------------------------------------------------


def test_a_captured_prefix_yields_the_extensions_it_holds() -> None:
    padding = ext(0x0015, b"\x00" * 400)  # pushes the hello past a 256-byte capture
    data = wire(extensions=[sni(b"c2.evil.example"), ext(0x0017), padding])
    assert isinstance(parse_client_hello(data[:256]), NeedMoreData)  # whole hellos only by default
    for cut in (len(data) - 1, 256, 114):  # the SNI ends at byte 110, the empty 0x0017 at 114
        parsed = parse_client_hello(data[:cut], partial=True)
        assert isinstance(parsed, ClientHello)
        assert parsed.sni == "c2.evil.example" and TlsAnomaly.TRUNCATED in parsed.anomalies
        assert parsed.extensions == (0x0000, 0x0017)  # the padding extension was not captured
    cut_inside = parse_client_hello(data[:112], partial=True)
    assert isinstance(cut_inside, ClientHello) and cut_inside.extensions == (0x0000,)
    whole = parse_client_hello(data, partial=True)
    assert isinstance(whole, ClientHello) and TlsAnomaly.TRUNCATED not in whole.anomalies


def test_a_prefix_cut_inside_the_sni_or_the_fixed_fields_gives_no_sni() -> None:
    data = wire(extensions=[sni(b"c2.evil.example"), ext(0x0015, b"\x00" * 400)])
    inside_sni = parse_client_hello(data[:95], partial=True)
    assert isinstance(inside_sni, ClientHello) and inside_sni.sni is None and inside_sni.extensions == ()
    assert isinstance(parse_client_hello(data[:60], partial=True), NeedMoreData)  # cipher suites cut
    assert isinstance(parse_client_hello(data[:3], partial=True), NeedMoreData)


def test_a_prefix_still_rejects_what_is_not_a_hello() -> None:
    data = bytearray(wire(extensions=[sni(b"a.example"), ext(0x0015, b"\x00" * 400)]))
    data[5] = 2  # ServerHello
    with pytest.raises(TlsParseError):
        parse_client_hello(bytes(data[:200]), partial=True)

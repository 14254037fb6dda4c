"""Hand-made well-formed inputs for the binary targets (ring records, TLS, gRPC, SMB, DNS).

Seeds only need to be valid enough to reach deep code: the fuzzer mutates them from there.
Builders follow the specs named beside them; h2/hpack (test dependencies) build the HTTP/2.
"""

import struct

import h2.config
import h2.connection

from sentinel_adapters.ebpf.codec import PACKET_EVENT
from sentinel_adapters.ebpf.codec_dns import DNS_EVENT, MAX_CAPTURE, TIER_MEDIUM, TIER_SMALL
from sentinel_adapters.ebpf.codec_payload import DLP_EVENT, IDS_EVENT


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def vec(data: bytes, size: int = 2) -> bytes:
    return len(data).to_bytes(size, "big") + data


# --- DNS (RFC 1035 §4) ---------------------------------------------------------------------------


def dns_name(name: str) -> bytes:
    return b"".join(vec(label.encode(), 1) for label in name.split(".") if label) + b"\0"


def dns_query(name: str = "www.example.com", qtype: int = 1, ident: int = 0x1234) -> bytes:
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_response() -> bytes:
    """www.example.com CNAME web.example.com, A and AAAA, names compressed against the question."""
    head = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 3, 0, 0)
    question = dns_name("www.example.com") + struct.pack("!HH", 1, 1)
    cname_rdata = b"\x03web\xc0\x10"  # "web" + pointer to "example.com" at offset 16
    answers = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 300, len(cname_rdata)) + cname_rdata
    answers += b"\xc0\x2d" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    answers += b"\xc0\x2d" + struct.pack("!HHIH", 28, 1, 60, 16) + bytes(15) + b"\x01"
    return head + question + answers


def dns_messages() -> list[bytes]:
    loop = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    return [dns_query(), dns_query("example.org", 28), dns_response(), loop, dns_query("a" * 63 + ".b")]


# --- TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301) -------------------------------------


def tls_ext(ext_type: int, body: bytes) -> bytes:
    return u16(ext_type) + vec(body)


def client_hello(sni: str | None = "www.example.com", grease: bool = True, tls13: bool = True) -> bytes:
    """A handshake message (type 1) with SNI, ALPN, groups, signature algorithms, versions."""
    ciphers = ([0x0A0A] if grease else []) + [0x1301, 0x1302, 0xC02F, 0x009C]
    exts = [tls_ext(0x0A0A, b"")] if grease else []
    if sni is not None:
        exts.append(tls_ext(0x0000, vec(b"\x00" + vec(sni.encode()))))
    exts.append(tls_ext(0x0010, vec(vec(b"h2", 1) + vec(b"http/1.1", 1))))
    exts.append(tls_ext(0x000A, vec(b"".join(u16(g) for g in (0x001D, 0x0017)))))
    exts.append(tls_ext(0x000D, vec(b"".join(u16(a) for a in (0x0403, 0x0804, 0x0401)))))
    if tls13:
        exts.append(tls_ext(0x002B, vec(u16(0x0304) + u16(0x0303), 1)))
    body = u16(0x0303) + b"\x42" * 32 + vec(b"\x11" * 32, 1)
    body += vec(b"".join(u16(c) for c in ciphers)) + vec(b"\x00", 1) + vec(b"".join(exts))
    return b"\x01" + len(body).to_bytes(3, "big") + body


def tls_records(message: bytes, size: int = 16384) -> bytes:
    return b"".join(b"\x16\x03\x01" + vec(message[i : i + size]) for i in range(0, len(message), size))


def tls_hellos() -> list[bytes]:
    return [
        tls_records(client_hello()),
        tls_records(client_hello(None, grease=False, tls13=False)),
        tls_records(client_hello("a.example"), size=64),  # split over several records
        tls_records(client_hello())[:40],  # incomplete
    ]


# --- gRPC over HTTP/2 (RFC 9113), built by the h2 library ----------------------------------------


def grpc_connection(calls: int = 2, big_header: bool = False) -> bytes:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    for i in range(calls):
        stream = conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"), (":scheme", "http"), (":path", f"/pkg.Admin/Delete{i}"),
            (":authority", "svc.example.com"), ("content-type", "application/grpc"), ("te", "trailers"),
        ]  # fmt: skip
        if big_header:
            headers.append(("x-big", "v" * 20000))  # HEADERS + CONTINUATION
        conn.send_headers(stream, headers)
        conn.send_data(stream, b"\x00\x00\x00\x00\x02\x08\x01", end_stream=True)
    return conn.data_to_send()


# --- SMB (RFC 1002 §4.3, MS-SMB2 §2.2.1, MS-CIFS §2.2.3.1) ---------------------------------------


def smb2(command: int, next_command: int = 0, flags: int = 0) -> bytes:
    head = b"\xfeSMB" + struct.pack("<HHIHHII", 64, 0, 0, command, 1, flags, next_command)
    return head + struct.pack("<Q", 7) + bytes(32)


def netbios(payload: bytes, kind: int = 0) -> bytes:
    return bytes([kind]) + len(payload).to_bytes(3, "big") + payload


def smb_sessions() -> list[bytes]:
    smb1 = b"\xffSMB\x72" + bytes(27)
    compound = smb2(0x05, next_command=72) + bytes(8) + smb2(0x08, next_command=64) + smb2(0x06)
    return [
        netbios(smb2(0x00) + b"\x24\x00" + bytes(34)),
        b"\x81\x00\x00\x04name" + netbios(smb2(0x01)) + b"\x85\x00\x00\x00" + netbios(smb2(0x03)),
        netbios(smb1) + netbios(compound),
        netbios(b"\xfdSMB" + bytes(48)),  # transform (encrypted) header
    ]


# --- ring records (bpf/include/sentinel/*.h through the codec structs) ---------------------------

_V4 = (0xC0000207, 0, 0, 0)
_V6 = (0x20010DB8, 0, 0, 1)


def ring_packet_events() -> list[bytes]:
    events = b"".join(
        PACKET_EVENT.pack(10**9 + t, *_V4, *_V6, 40000, 443, 6, t, t % 3, 0x05, 7, 0, 1) for t in range(9)
    )
    odd = [events[:56], events[:55], events[:57]]
    return [b"\x01\x00" + events, b"\x00" + b"".join(len(r).to_bytes(2, "little") + r for r in odd)]


def ring_dns_events() -> list[bytes]:
    out = []
    for index, tier in enumerate((TIER_SMALL, TIER_MEDIUM, MAX_CAPTURE)):
        message = dns_response() if index else dns_query()
        size, direction = len(message), index % 2
        head = DNS_EVENT.pack(1, *_V4, *_V4, 53, 5353, size, size, direction, 0, 0, 2, direction)
        out.append(b"\x01" + bytes([index]) + head + message.ljust(tier, b"\0"))
    record = out[0][2:]
    out.append(b"\x00" + len(record).to_bytes(2, "little") + record + b"\x05\x00short")
    return out


def ring_ids_records() -> list[bytes]:
    payload = b"GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"
    head = IDS_EVENT.pack(5, *_V4, *_V4, 40000, 80, 6, 0, 0x08, 0x18, 2, len(payload), 99, len(payload), 0)
    udp = IDS_EVENT.pack(6, *_V6, *_V6, 5353, 53, 17, 1, 0x01, 0, 3, 900, 7, 12, 10)
    record = head + payload
    return [b"\x02" + record + udp + bytes(12), b"\x00" + len(record).to_bytes(2, "little") + record]


def ring_dlp_records() -> list[bytes]:
    data = b"POST /login HTTP/1.1\r\n\r\npassword=hunter2&card=4111111111111111"
    head = DLP_EVENT.pack(7, 4242, 4242, 99, len(data) * 2, len(data), 0, 0x03, 0, 1000, b"curl")
    read = DLP_EVENT.pack(8, 1, 1, 1, 5, 5, 1, 0, 0, 0, b"x" * 16)
    return [b"\x02" + head + data + read + b"hello", b"\x00" + (len(head) + 3).to_bytes(2, "little") + head]

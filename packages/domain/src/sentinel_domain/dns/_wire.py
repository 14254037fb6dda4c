"""A sans-IO DNS message parser (RFC 1035 §4), bounded in time and memory.

Given any bytes it returns a DnsMessage or raises DnsParseError, nothing else. Rules:
- a message shorter than the 12-byte header is an error;
- QDCOUNT above MAX_QUESTIONS is an error; only the first MAX_ANSWERS answers are read;
- data that ends before the header counts are satisfied (the kernel copies at most 512 bytes,
  or a count lies) gives a result with ``truncated=True`` holding the complete records read;
- anything malformed that is present (reserved label types, over-long names, bad pointers,
  A/AAAA/CNAME rdata of the wrong size) is an error;
- authority and additional sections are not read.
"""

import ipaddress
import struct

from sentinel_domain.common.addresses import IpAddress
from sentinel_domain.dns._names import MAX_NAME_OCTETS, names_to_text
from sentinel_domain.dns.entity import DnsMessage, DnsQuestion, DnsRecord, RecordType
from sentinel_domain.dns.errors import DnsParseError

HEADER_SIZE = 12
MAX_QUESTIONS = 10
MAX_ANSWERS = 20
MAX_POINTER_HOPS = 10
CLASS_IN = 1

_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")  # type, class, ttl, rdlength
_QUESTION_FIXED = struct.Struct("!HH")


class _OutOfDataError(Exception):
    """Internal: the data ended inside a field; the caller turns it into ``truncated``."""


def _read_name(data: bytes, start: int) -> tuple[str, int]:
    """Decode the name at ``start``; return its text and the offset just after it.

    RFC 1035 §4.1.4: a pointer is two octets whose top bits are 11, pointing "to a prior
    occurance of the same name". Like dnspython we require every pointer to land strictly before
    the previous one (the first: before the name's start), which makes loops impossible; a
    pointer that repeats or goes forward is rejected, as is one into the 12-byte header, and more
    than MAX_POINTER_HOPS pointers (upstream's cap).
    """
    labels: list[bytes] = []
    wire_length = 1  # the terminating root label
    pos = start
    bound = start
    after: int | None = None
    visited = {start}
    hops = 0
    size = len(data)
    while True:
        if pos >= size:
            raise _OutOfDataError
        length = data[pos]
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= size:
                raise _OutOfDataError
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if after is None:
                after = pos + 2
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise DnsParseError(
                    "pointer_hops", f"more than {MAX_POINTER_HOPS} compression pointers in one name", pos
                )
            if target < HEADER_SIZE:
                raise DnsParseError(
                    "pointer_header", f"compression pointer {target} points into the header", pos
                )
            if target >= bound:
                what = "loops" if target in visited else "points forward"
                raise DnsParseError(
                    "pointer_direction",
                    f"compression pointer to {target} {what}; pointers must point before {bound}",
                    pos,
                )
            visited.add(target)
            bound = target
            pos = target
            continue
        if kind != 0:
            # RFC 1035 §4.1.4: "The 10 and 01 combinations are reserved" — so a length byte above
            # 63 is never a label (RFC 1035 §2.3.4: "labels 63 octets or less").
            raise DnsParseError(
                "label_type",
                f"label length byte 0x{length:02x}: labels are 0-63 octets, 64-191 reserved",
                pos,
            )
        if length == 0:
            pos += 1
            break
        if pos + 1 + length > size:
            raise _OutOfDataError
        wire_length += length + 1
        if wire_length > MAX_NAME_OCTETS:
            raise DnsParseError(
                "name_length", f"name longer than {MAX_NAME_OCTETS} octets (RFC 1035 §2.3.4)", start
            )
        labels.append(data[pos + 1 : pos + 1 + length])
        pos += 1 + length
    return names_to_text(labels), after if after is not None else pos


def _read_question(data: bytes, pos: int) -> tuple[DnsQuestion, int]:
    name, pos = _read_name(data, pos)
    if pos + _QUESTION_FIXED.size > len(data):
        raise _OutOfDataError
    qtype, qclass = _QUESTION_FIXED.unpack_from(data, pos)
    return DnsQuestion(name, qtype, qclass), pos + _QUESTION_FIXED.size


def _read_record(data: bytes, pos: int) -> tuple[DnsRecord | None, int]:
    """One resource record; None for the types and classes we skip."""
    name, pos = _read_name(data, pos)
    if pos + _RR_FIXED.size > len(data):
        raise _OutOfDataError
    rtype, rclass, ttl, rdlength = _RR_FIXED.unpack_from(data, pos)
    rdata = pos + _RR_FIXED.size
    end = rdata + rdlength
    if end > len(data):
        raise _OutOfDataError
    # RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
    if ttl & 0x80000000:
        ttl = 0
    if rclass != CLASS_IN or rtype not in (RecordType.A, RecordType.AAAA, RecordType.CNAME):
        return None, end
    if rtype == RecordType.CNAME:
        target, after = _read_name(data, rdata)
        if after != end:
            raise DnsParseError("rdata", f"CNAME rdlength {rdlength} does not match its name", rdata)
        return DnsRecord(name, RecordType.CNAME, ttl, target=target), end
    want = 4 if rtype == RecordType.A else 16
    if rdlength != want:
        kind = RecordType(rtype).name
        raise DnsParseError("rdata", f"{kind} rdlength {rdlength}, expected {want}", rdata)
    address: IpAddress = (
        ipaddress.IPv4Address(data[rdata:end]) if want == 4 else ipaddress.IPv6Address(data[rdata:end])
    )
    return DnsRecord(name, RecordType(rtype), ttl, address=address), end


def parse_message(data: bytes) -> DnsMessage:
    """Parse one DNS message (without the TCP length prefix); see the module docstring."""
    if len(data) < HEADER_SIZE:
        raise DnsParseError("header", f"message is {len(data)} bytes; the header needs {HEADER_SIZE}", 0)
    ident, flags, qdcount, ancount, _nscount, _arcount = _HEADER.unpack_from(data, 0)
    if qdcount > MAX_QUESTIONS:
        raise DnsParseError("qdcount", f"QDCOUNT {qdcount} is above the maximum of {MAX_QUESTIONS}", 4)
    questions: list[DnsQuestion] = []
    answers: list[DnsRecord] = []
    truncated = ancount > MAX_ANSWERS
    pos = HEADER_SIZE
    try:
        for _ in range(qdcount):
            question, pos = _read_question(data, pos)
            questions.append(question)
        for _ in range(min(ancount, MAX_ANSWERS)):
            record, pos = _read_record(data, pos)
            if record is not None:
                answers.append(record)
    except _OutOfDataError:
        truncated = True
    return DnsMessage(
        id=ident,
        is_response=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0xF,
        rcode=flags & 0xF,
        authoritative=bool(flags & 0x0400),
        tc=bool(flags & 0x0200),
        recursion_desired=bool(flags & 0x0100),
        recursion_available=bool(flags & 0x0080),
        questions=tuple(questions),
        answers=tuple(answers),
        qdcount=qdcount,
        ancount=ancount,
        truncated=truncated,
    )

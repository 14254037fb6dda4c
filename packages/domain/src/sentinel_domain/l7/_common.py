"""Pieces every L7 parser shares: the need-more-data result, a bounds-checked reader, text decoding."""

from dataclasses import dataclass

from sentinel_domain.l7.errors import L7ParseError


@dataclass(frozen=True, slots=True)
class NeedMoreData:
    """The buffer ends inside a message: not an error, the caller should wait for more bytes.

    ``at_least`` is a lower bound on the buffer length (from its start) before parsing can make
    progress; parsers are sans-IO and keep no state, so the caller re-parses the grown buffer.
    """

    protocol: str
    at_least: int
    reason: str


class Reader:
    """Reads big-endian integers and slices from ``data[start:end]``; never reads past ``end``.

    Every overrun raises ``error`` (the parser's own :class:`L7ParseError` subclass) naming what
    was being read, so no ``IndexError`` or ``struct.error`` can escape a parser.
    """

    __slots__ = ("_data", "_end", "_error", "_pos")

    def __init__(
        self, data: bytes, error: type[L7ParseError], start: int = 0, end: int | None = None
    ) -> None:
        self._data = data
        self._pos = start
        self._end = len(data) if end is None else end
        self._error = error

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def fail(self, message: str) -> L7ParseError:
        """An error of this reader's type located at the current offset (for the caller to raise)."""
        return self._error(message, self._pos)

    def _need(self, count: int, what: str) -> None:
        if count > self._end - self._pos:
            raise self._error(
                f"truncated {what}: needs {count} bytes, {self._end - self._pos} left", self._pos
            )

    def uint(self, size: int, what: str) -> int:
        """An unsigned big-endian integer of ``size`` bytes."""
        self._need(size, what)
        value = int.from_bytes(self._data[self._pos : self._pos + size], "big")
        self._pos += size
        return value

    def u8(self, what: str) -> int:
        return self.uint(1, what)

    def u16(self, what: str) -> int:
        return self.uint(2, what)

    def take(self, count: int, what: str) -> bytes:
        """The next ``count`` bytes."""
        self._need(count, what)
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def take_all(self) -> bytes:
        """Everything left."""
        return self.take(self.remaining, "rest")

    def vector(self, length_size: int, what: str, min_len: int = 0, max_len: int | None = None) -> "Reader":
        """A sub-reader over a length-prefixed vector (TLS ``<min..max>`` notation, RFC 8446 §3.4).

        The declared length must fit in what is left (a length that lies is an error) and lie
        within ``[min_len, max_len]``.
        """
        start = self._pos
        length = self.uint(length_size, f"{what} length")
        if length < min_len or (max_len is not None and length > max_len):
            upper = "" if max_len is None else f"..{max_len}"
            raise self._error(f"{what} length {length} outside {min_len}{upper}", start)
        self._need(length, what)
        sub = Reader(self._data, self._error, self._pos, self._pos + length)
        self._pos += length
        return sub

    def peek_u16(self, offset: int = 0) -> int:
        """The u16 at ``offset`` bytes ahead, without moving (the caller checked it is there)."""
        at = self._pos + offset
        self._need(offset + 2, "u16")
        return int.from_bytes(self._data[at : at + 2], "big")

    def expect_end(self, what: str) -> None:
        """Fail when bytes are left over: the enclosing length claimed more than the contents."""
        if self._pos != self._end:
            raise self._error(f"{self._end - self._pos} unexpected trailing bytes in {what}", self._pos)


def decode_text(raw: bytes) -> tuple[str, bool]:
    """``raw`` as UTF-8 when valid (``True``), else byte-for-byte as Latin-1 (``False``).

    Latin-1 maps every byte to one code point, so decoding never fails and nothing is lost; the
    flag lets the parser report the non-UTF-8 bytes as an anomaly.
    """
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), False

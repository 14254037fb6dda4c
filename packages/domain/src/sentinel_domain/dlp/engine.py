"""The DLP scanner: a PatternMatcher finds candidate ends, validators confirm and redact.

How a scan works:
1. every enabled pattern is compiled once into one matcher database (hyperscan in production,
   the testkit's reference matcher in tests); ``re`` never runs a user pattern;
2. the matcher reports ``(end, pattern)`` pairs; for a built-in pattern its validator extracts the
   value around each end, checks it (Luhn, mod-97, SSN rules, entropy …) and redacts it; a custom
   pattern has no validator, and each run of consecutive end offsets counts as one match;
3. per pattern, findings do not overlap (leftmost first, like ``find_iter``), and a finding of a
   pattern that ``supersedes`` another removes that one's overlapping findings.

Chunks of one connection (successive ``SSL_write`` or ``SSL_read`` buffers) are scanned with a
:class:`DlpScanState` the caller keeps per connection, e.g. keyed by ``(tgid, direction)``. The
state carries the last ``carry_bytes`` bytes (default 256) into the next scan, so a value of up to
256 bytes split across two chunks is found, and remembers what it reported, so it is reported
exactly once. Longer values (a long JWT) are found only inside one chunk. A value that ends
exactly at a chunk's end is reported then, even if the next chunk would have extended it.
"""

from collections import OrderedDict
from collections.abc import Hashable, Sequence

from sentinel_domain.common.matching import CompiledPatterns, Pattern, PatternKind, PatternMatcher
from sentinel_domain.dlp._extract import VALIDATORS
from sentinel_domain.dlp.entity import DlpFinding, DlpPattern
from sentinel_domain.dlp.errors import DlpConfigError

DEFAULT_CARRY_BYTES = 256
MAX_CARRY_BYTES = 4096
DEFAULT_MAX_STATES = 4096


class DlpScanState:
    """What one connection's scanner remembers between chunks (owned by the caller)."""

    __slots__ = ("_carry", "_consumed", "_reported", "_segment_start")

    def __init__(self) -> None:
        self._carry = b""
        self._consumed = 0  # captured bytes scanned so far
        self._segment_start = 0  # where the current gap-free run of bytes began
        self._reported: dict[int, set[int]] = {}  # pattern index -> reported offsets

    @property
    def consumed(self) -> int:
        return self._consumed

    @property
    def carry_size(self) -> int:
        return len(self._carry)


class DlpStateTable:
    """Scan states by connection key, least recently used dropped beyond ``max_entries``."""

    def __init__(self, max_entries: int = DEFAULT_MAX_STATES) -> None:
        if max_entries < 1:
            raise DlpConfigError(f"invalid max_entries {max_entries}: must be at least 1")
        self.max_entries = max_entries
        self._states: OrderedDict[Hashable, DlpScanState] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: Hashable) -> DlpScanState:
        """The state of ``key``, created when absent; marks it most recently used."""
        state = self._states.get(key)
        if state is None:
            state = DlpScanState()
            self._states[key] = state
            while len(self._states) > self.max_entries:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(key)
        return state

    def discard(self, key: Hashable) -> bool:
        return self._states.pop(key, None) is not None


class DlpEngine:
    """Scans plaintext for the enabled ``patterns`` through ``matcher``.

    Raises DlpConfigError for duplicate ids or an unknown validator, and the matcher's
    PatternError (naming the pattern id) for a regex it cannot compile.
    """

    def __init__(
        self,
        patterns: Sequence[DlpPattern],
        matcher: PatternMatcher,
        *,
        carry_bytes: int = DEFAULT_CARRY_BYTES,
    ) -> None:
        if not 0 <= carry_bytes <= MAX_CARRY_BYTES:
            raise DlpConfigError(f"invalid carry_bytes {carry_bytes}: must be 0-{MAX_CARRY_BYTES}")
        self.carry_bytes = carry_bytes
        active = [pattern for pattern in patterns if pattern.enabled]
        ids = [pattern.id for pattern in active]
        duplicates = sorted({pattern_id for pattern_id in ids if ids.count(pattern_id) > 1})
        if duplicates:
            raise DlpConfigError(f"duplicate pattern id '{duplicates[0]}'", "dlp.patterns")
        for pattern in active:
            if pattern.validator is not None and pattern.validator not in VALIDATORS:
                raise DlpConfigError(f"pattern '{pattern.id}' names unknown validator '{pattern.validator}'")
        self._patterns = tuple(active)
        self._index = {pattern.id: index for index, pattern in enumerate(active)}
        self._compiled: CompiledPatterns = matcher.compile(
            [
                Pattern(
                    id=index,
                    expression=pattern.regex.encode("utf-8"),
                    kind=PatternKind.REGEX,
                    label=pattern.id,
                )
                for index, pattern in enumerate(active)
            ]
        )

    @property
    def patterns(self) -> tuple[DlpPattern, ...]:
        """The enabled patterns, in compile order."""
        return self._patterns

    def scan(
        self, data: bytes, state: DlpScanState | None = None, *, gap_after: bool = False
    ) -> list[DlpFinding]:
        """Findings in ``data``, sorted by end offset then pattern order.

        Without ``state`` the data is scanned alone with offsets from 0. With it, ``data`` continues
        the connection's previous chunk; pass ``gap_after=True`` when bytes after ``data`` were not
        captured (the event's ``data_len`` exceeded its excerpt), so the next chunk does not join it.
        """
        if state is None:
            buf, base, bos = data, 0, True
            reported: dict[int, set[int]] = {}
        else:
            buf = state._carry + data
            base = state._consumed - len(state._carry)
            bos = base == state._segment_start
            reported = state._reported
        ends: dict[int, list[int]] = {}  # per pattern, ascending (the matcher sorts by end)
        for match in self._compiled.scan(buf):
            ends.setdefault(match.pattern_id, []).append(match.end)
        # (pattern index, finding, is new): already-reported findings still take part in
        # superseding, so a value reported by one chunk keeps suppressing in the next.
        findings: list[tuple[int, DlpFinding, bool]] = []
        for index, pattern_ends in ends.items():
            seen = reported.setdefault(index, set())
            pattern = self._patterns[index]
            if pattern.validator is None:
                found = self._runs(pattern, pattern_ends, base, seen)
            else:
                found = self._validated(pattern, buf, pattern_ends, base=base, bos=bos, seen=seen)
            findings.extend((index, finding, new) for finding, new in found)
        kept = [(index, finding) for index, finding, new in self._drop_superseded(findings) if new]
        if state is not None:
            self._advance(state, buf, len(data), gap_after)
        kept.sort(key=lambda item: (item[1].end, item[0]))
        return [finding for _, finding in kept]

    def _validated(
        self, pattern: DlpPattern, buf: bytes, ends: list[int], *, base: int, bos: bool, seen: set[int]
    ) -> list[tuple[DlpFinding, bool]]:
        validator = VALIDATORS[pattern.validator or ""]
        out: list[tuple[DlpFinding, bool]] = []
        skip_until = -1  # candidate ends up to here were already decided
        last_stop = -1  # end of this pattern's previous finding (findings never overlap)
        for end in ends:
            if end <= skip_until:
                continue
            verdict = validator(buf, end, bos)
            if verdict is None:
                continue
            start, stop, preview = verdict
            skip_until = max(skip_until, stop)
            if preview is None or start < last_stop:
                continue
            last_stop = stop
            new = base + start not in seen
            seen.add(base + start)
            out.append((self._finding(pattern, base + start, base + stop, preview), new))
        return out

    def _runs(
        self, pattern: DlpPattern, ends: list[int], base: int, seen: set[int]
    ) -> list[tuple[DlpFinding, bool]]:
        """Custom patterns: each run of consecutive end offsets is one match, reported once."""
        out: list[tuple[DlpFinding, bool]] = []
        run: list[int] = []
        for end in [*ends, -2]:
            if run and end == run[-1] + 1:
                run.append(end)
                continue
            if run:
                absolute = [base + e for e in run]
                new = not any(e in seen for e in absolute)
                out.append((self._finding(pattern, None, absolute[-1], "[REDACTED]"), new))
                seen.update(absolute)
            run = [end]
        return out

    def _finding(self, pattern: DlpPattern, start: int | None, end: int, preview: str) -> DlpFinding:
        return DlpFinding(
            pattern.id, pattern.name, pattern.data_type, pattern.severity, pattern.mode, start, end, preview
        )

    def _drop_superseded(
        self, findings: list[tuple[int, DlpFinding, bool]]
    ) -> list[tuple[int, DlpFinding, bool]]:
        winners = [
            (self._patterns[index].supersedes, finding)
            for index, finding, _ in findings
            if self._patterns[index].supersedes and finding.start is not None
        ]
        if not winners:
            return findings

        def beaten(finding: DlpFinding) -> bool:
            return finding.start is not None and any(
                finding.pattern_id in replaced
                and finding.start < winner.end
                and (winner.start or 0) < finding.end
                for replaced, winner in winners
            )

        return [item for item in findings if not beaten(item[1])]

    def _advance(self, state: DlpScanState, buf: bytes, size: int, gap_after: bool) -> None:
        state._consumed += size
        if gap_after:
            state._carry = b""
            state._segment_start = state._consumed
            state._reported.clear()
            return
        state._carry = buf[-self.carry_bytes :] if self.carry_bytes else b""
        floor = state._consumed - len(state._carry)
        for offsets in state._reported.values():
            stale = [offset for offset in offsets if offset < floor]
            offsets.difference_update(stale)

"""A Thompson NFA over bytes, run as a lazily built DFA: the reference matcher's engine.

Semantics (those of the PatternMatcher protocol): for each pattern, every end offset at which some
match ends is reported once. A search starts at every offset (the start states are re-injected
at each position). Assertions look at the byte before the position (or the stream start) and the
byte after it (or the stream end); ``\\Z``/``$`` may also hold before a ``\\n`` that turns out to be
the last byte, so such a match is only confirmed when the stream ends right after that newline.
"""

from collections.abc import Iterable, Sequence

from sentinel_domain.common.regex_syntax import (
    NEWLINE,
    WORD,
    Alternation,
    Assertion,
    AssertKind,
    ByteSet,
    Concat,
    Node,
)

BYTE, SPLIT, ASSERT, ACCEPT = range(4)
# context of the byte before a position
CTX_START, CTX_NEWLINE, CTX_WORD, CTX_OTHER = range(4)
END = 256  # symbol: the stream ends here
UNKNOWN = 257  # symbol: the next byte has not arrived yet (decide only what does not depend on it)

Result = tuple[tuple[int, ...], tuple[int, ...], int]  # (accepted ids, tentative ids, next state)


def context_of(byte: int) -> int:
    if byte == NEWLINE:
        return CTX_NEWLINE
    return CTX_WORD if WORD >> byte & 1 else CTX_OTHER


def _holds(kind: AssertKind, prev: int, sym: int) -> bool:
    """Whether ``kind`` holds between context ``prev`` and symbol ``sym`` (UNKNOWN fails)."""
    if kind is AssertKind.TEXT_START:
        return prev == CTX_START
    if kind is AssertKind.LINE_START:  # not after a newline that ends the data (PCRE, hyperscan)
        return prev == CTX_START or (prev == CTX_NEWLINE and sym < 256)
    if kind in (AssertKind.TEXT_END, AssertKind.TEXT_END_NL):
        return sym == END
    if kind is AssertKind.LINE_END:
        return sym in (END, NEWLINE)
    if sym == UNKNOWN:
        return False
    boundary = (prev == CTX_WORD) != (sym < 256 and bool(WORD >> sym & 1))
    return boundary if kind is AssertKind.WORD_BOUNDARY else not boundary


class Program:
    """The NFA of a pattern set; ``starts`` holds one entry state per pattern."""

    def __init__(self, nodes: Sequence[tuple[int, Node]]) -> None:
        self.kinds: list[int] = []
        self.masks: list[int] = []
        self.outs: list[tuple[int, ...]] = []
        self.asserts: list[AssertKind | None] = []
        self.starts: list[int] = []
        for pattern_id, node in nodes:
            accept = self._add(ACCEPT, pattern_id, ())
            self.starts.append(self._compile(node, accept))

    def _add(self, kind: int, mask: int, outs: tuple[int, ...], what: AssertKind | None = None) -> int:
        self.kinds.append(kind)
        self.masks.append(mask)  # for ACCEPT: the pattern id
        self.outs.append(outs)
        self.asserts.append(what)
        return len(self.kinds) - 1

    def _compile(self, node: Node, cont: int) -> int:
        """Entry state of ``node`` followed by state ``cont``."""
        if isinstance(node, ByteSet):
            return self._add(BYTE, node.mask, (cont,))
        if isinstance(node, Assertion):
            return self._add(ASSERT, 0, (cont,), node.kind)
        if isinstance(node, Concat):
            for item in reversed(node.items):
                cont = self._compile(item, cont)
            return cont
        if isinstance(node, Alternation):
            return self._add(SPLIT, 0, tuple(self._compile(o, cont) for o in node.options))
        if node.max is None:  # min copies, then a loop
            loop = self._add(SPLIT, 0, ())
            self.outs[loop] = (self._compile(node.item, loop), cont)
            tail = loop
        else:
            tail = cont
            for _ in range(node.max - node.min):
                tail = self._add(SPLIT, 0, (self._compile(node.item, tail), cont))
        for _ in range(node.min):
            tail = self._compile(node.item, tail)
        return tail

    def closure(self, seeds: Iterable[int], prev: int, sym: int) -> tuple[set[int], set[int], set[int]]:
        """(consuming states, accepted ids, tentative ids) reachable without consuming a byte."""
        consuming: set[int] = set()
        accepted: set[int] = set()
        tentative: set[int] = set()
        seen: set[tuple[int, bool]] = set()
        stack = [(s, False) for s in seeds]
        while stack:
            item = stack.pop()
            if item in seen:
                continue
            seen.add(item)
            state, pending = item  # pending: only valid if the stream ends after this newline
            kind = self.kinds[state]
            if kind == BYTE:
                if not pending:
                    consuming.add(state)
            elif kind == SPLIT:
                stack.extend((o, pending) for o in self.outs[state])
            elif kind == ACCEPT:
                (tentative if pending else accepted).add(self.masks[state])
            else:
                what = self.asserts[state]
                assert what is not None
                if _holds(what, prev, sym):
                    stack.append((self.outs[state][0], pending))
                elif what is AssertKind.TEXT_END_NL and sym == NEWLINE:
                    stack.append((self.outs[state][0], True))
        return consuming, accepted, tentative


class LazyDfa:
    """Subset construction on demand; a state is (set of NFA states, context of the byte before)."""

    def __init__(self, program: Program, unanchored: bool = True) -> None:
        self.program = program
        self._ids: dict[tuple[frozenset[int], int], int] = {}
        self._keys: list[tuple[frozenset[int], int]] = []
        self.rows: list[list[Result | None]] = []
        self._start_rows: dict[tuple[int, int], tuple[set[int], set[int], frozenset[int]]] = {}
        self._unanchored = unanchored
        seeds = frozenset() if unanchored else frozenset(program.starts)
        self.initial = self.intern(seeds, CTX_START)

    def intern(self, seeds: frozenset[int], prev: int) -> int:
        key = (seeds, prev)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._keys)
            self._keys.append(key)
            self.rows.append([None] * 258)
        return found

    def _advance(self, consuming: Iterable[int], sym: int) -> frozenset[int]:
        if sym >= 256:
            return frozenset()
        masks, outs = self.program.masks, self.program.outs
        return frozenset(outs[s][0] for s in consuming if masks[s] >> sym & 1)

    def _from_starts(self, prev: int, sym: int) -> tuple[set[int], set[int], frozenset[int]]:
        cached = self._start_rows.get((prev, sym))
        if cached is None:
            consuming, accepted, tentative = self.program.closure(self.program.starts, prev, sym)
            cached = self._start_rows[(prev, sym)] = (accepted, tentative, self._advance(consuming, sym))
        return cached

    def step(self, state: int, sym: int) -> Result:
        """Accepted and tentative ids at this position, and the state after consuming ``sym``."""
        row = self.rows[state]
        found = row[sym]
        if found is None:
            seeds, prev = self._keys[state]
            consuming, accepted, tentative = self.program.closure(seeds, prev, sym)
            following = self._advance(consuming, sym)
            if self._unanchored:
                more_acc, more_tent, more_next = self._from_starts(prev, sym)
                accepted, tentative, following = (
                    accepted | more_acc,
                    tentative | more_tent,
                    following | more_next,
                )
            nxt = self.intern(following, context_of(sym)) if sym < 256 else -1
            found = row[sym] = (tuple(sorted(accepted)), tuple(sorted(tentative)), nxt)
        return found


def satisfiable(program: Program, max_states: int = 20_000) -> bool:
    """Whether some input makes the (single-pattern) program accept; True when undecided."""
    dfa = LazyDfa(program, unanchored=False)
    signatures: dict[tuple[object, ...], int] = {}
    masks = {m for k, m in zip(program.kinds, program.masks, strict=True) if k == BYTE}
    for byte in range(256):  # one representative byte per class of bytes the program tells apart
        sig = (context_of(byte), *(m >> byte & 1 for m in masks))
        signatures.setdefault(sig, byte)
    symbols = [*signatures.values(), END]
    # a match may start after any byte, so every context of the byte before is a possible start
    todo = [dfa.intern(frozenset(program.starts), prev) for prev in range(4)]
    seen = set(todo)
    while todo:
        if len(seen) > max_states:
            return True
        state = todo.pop()
        for sym in symbols:
            accepted, tentative, nxt = dfa.step(state, sym)
            if accepted or tentative:
                return True
            if nxt >= 0 and nxt not in seen and dfa._keys[nxt][0]:
                seen.add(nxt)
                todo.append(nxt)
    return False

"""Checking a rule's content/pcre conditions against the matcher's (end, id) reports.

The matcher reports every end offset of every pattern. A content's start is ``end - len``; a pcre
has no start, so it takes no positional modifier and only serves as the anchor (its end) for a
following relative content. Conditions hold when one match per condition can be chosen, in rule
order, each inside its window — Suricata's backtracking semantics: if the second content does not
fit after the first occurrence of the first, later occurrences are tried. The search is memoised
on (condition, previous end) and bounded by ``MAX_STEPS`` candidate checks per rule; a rule whose
search would exceed it does not fire (Suricata bounds its inspection recursion the same way).
"""

from collections.abc import Iterator, Mapping, Sequence

from sentinel_domain.ids._signature import Condition, ContentMatch

MAX_STEPS = 20_000
_NO_LIMIT = 1 << 62


class _OutOfStepsError(Exception):
    pass


def _window(cond: ContentMatch, prev_end: int) -> tuple[int, int]:
    """(lowest start, highest end) a match of ``cond`` may have."""
    if cond.relative:
        start = prev_end + (cond.distance or 0)
        end = start + cond.within if cond.within is not None else _NO_LIMIT
        return max(start, 0), end
    start = cond.offset or 0
    return start, start + cond.depth if cond.depth is not None else _NO_LIMIT


def _candidates(cond: Condition, ends: Sequence[int], prev_end: int) -> Iterator[int]:
    if not isinstance(cond, ContentMatch):
        yield from ends
        return
    low, high = _window(cond, prev_end)
    size = len(cond.pattern)
    for end in ends:
        if end > high:
            return  # ends are sorted
        if end - size >= low:
            yield end


def conditions_hold(
    conditions: Sequence[Condition],
    pattern_ids: Sequence[int],
    ends: Mapping[int, Sequence[int]],
    max_steps: int = MAX_STEPS,
) -> bool:
    """Whether every condition holds; ``ends`` maps pattern id → sorted end offsets."""
    failed: set[tuple[int, int]] = set()
    steps = 0

    def search(index: int, prev_end: int) -> bool:
        nonlocal steps
        if index == len(conditions):
            return True
        cond = conditions[index]
        relative = isinstance(cond, ContentMatch) and cond.relative
        key = (index, prev_end if relative else -1)
        if key in failed:
            return False
        for end in _candidates(cond, ends.get(pattern_ids[index], ()), prev_end):
            steps += 1
            if steps > max_steps:
                raise _OutOfStepsError
            if search(index + 1, end):
                return True
        failed.add(key)
        return False

    try:
        return search(0, 0)
    except _OutOfStepsError:
        return False

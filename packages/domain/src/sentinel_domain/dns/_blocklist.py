"""The domain blocklist: exact, wildcard and suffix patterns, each tagged with its sources."""

from collections.abc import Iterable

from sentinel_domain.dns._names import lookup_key, parents
from sentinel_domain.dns.entity import DomainPattern, MatchMode

_Key = tuple[MatchMode, str]


class DomainBlocklist:
    """Patterns from several sources (``config``, ``api``, ``feed:<name>``, ``stix`` …).

    A pattern is present while at least one source holds it, so refreshing one feed with
    :meth:`replace_source` never removes what another source contributed. A lookup costs one
    dictionary probe per label of the queried name, whatever the number of patterns.
    """

    def __init__(self, patterns: Iterable[DomainPattern] = ()) -> None:
        self._sources_of: dict[_Key, set[str]] = {}
        self._keys_of: dict[str, set[_Key]] = {}
        for pattern in patterns:
            self.add(pattern)

    def __len__(self) -> int:
        """The number of distinct patterns (a pattern held by two sources counts once)."""
        return len(self._sources_of)

    def add(self, pattern: DomainPattern) -> None:
        key = (pattern.mode, pattern.domain)
        self._sources_of.setdefault(key, set()).add(pattern.source)
        self._keys_of.setdefault(pattern.source, set()).add(key)

    def remove(self, pattern: DomainPattern) -> bool:
        """Remove ``pattern`` for its source only; True if that source held it."""
        key = (pattern.mode, pattern.domain)
        keys = self._keys_of.get(pattern.source)
        if keys is None or key not in keys:
            return False
        keys.discard(key)
        if not keys:
            del self._keys_of[pattern.source]
        self._drop_source(key, pattern.source)
        return True

    def replace_source(self, source: str, patterns: Iterable[DomainPattern]) -> tuple[int, int]:
        """Make ``source`` hold exactly ``patterns`` (their own ``source`` is ignored).

        Returns ``(added, removed)`` counted for this source. Patterns of other sources are kept.
        """
        new_keys = {(p.mode, p.domain) for p in patterns}
        old_keys = self._keys_of.get(source, set())
        for key in old_keys - new_keys:
            self._drop_source(key, source)
        for key in new_keys - old_keys:
            self._sources_of.setdefault(key, set()).add(source)
        added, removed = len(new_keys - old_keys), len(old_keys - new_keys)
        if new_keys:
            self._keys_of[source] = new_keys
        else:
            self._keys_of.pop(source, None)
        return added, removed

    def remove_source(self, source: str) -> int:
        """Drop everything ``source`` contributed; returns how many of its patterns it held."""
        return self.replace_source(source, ())[1]

    def sources(self) -> list[str]:
        return sorted(self._keys_of)

    def patterns(self, source: str | None = None) -> list[DomainPattern]:
        """All patterns (one per source holding it), optionally of one source, sorted."""
        out = [
            DomainPattern(domain, mode, src)
            for (mode, domain), srcs in self._sources_of.items()
            for src in srcs
            if source is None or src == source
        ]
        return sorted(out, key=lambda p: (p.domain, p.mode.value, p.source))

    def match(self, name: str) -> DomainPattern | None:
        """The most specific pattern matching ``name`` (case-insensitive, trailing dot ignored).

        Order: an exact pattern, then a suffix pattern on the name itself, then wildcard and
        suffix patterns on each parent from the longest. When several sources hold the winning
        pattern the alphabetically first source is reported.
        """
        key = lookup_key(name)
        if not key:
            return None
        for candidate in ((MatchMode.EXACT, key), (MatchMode.SUFFIX, key)):
            if candidate in self._sources_of:
                return self._pattern(candidate)
        for parent in parents(key):
            for candidate in ((MatchMode.WILDCARD, parent), (MatchMode.SUFFIX, parent)):
                if candidate in self._sources_of:
                    return self._pattern(candidate)
        return None

    def _pattern(self, key: _Key) -> DomainPattern:
        return DomainPattern(key[1], key[0], min(self._sources_of[key]))

    def _drop_source(self, key: _Key, source: str) -> None:
        sources = self._sources_of.get(key)
        if sources is None:
            return
        sources.discard(source)
        if not sources:
            del self._sources_of[key]

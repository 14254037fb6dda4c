"""Userspace sampling of IDS events (contract §1.4 ``ids.sampling``, §7.3): deterministic per flow."""

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sentinel_domain.common.addresses import IpAddress, address_to_words
from sentinel_domain.ids.errors import IdsRuleError

MAX_COUNTRIES = 250
_GOLDEN = 2654435761  # Knuth's multiplicative hash constant, as the contract specifies
_U32 = 0xFFFFFFFF


class SamplingMode(enum.Enum):
    NONE = "none"
    RANDOM = "random"
    HASH = "hash"
    COUNTRY_BASED = "country_based"


def _rate(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise IdsRuleError(f"invalid value '{value}' for field 'sampling.{name}': expected a number 0-1")
    return float(value)


@dataclass(frozen=True, slots=True)
class Sampling:
    """``mode`` none|random|hash|country_based; ``rate`` (required for random and hash);
    ``high_risk_countries`` (ISO codes, at most 250) sampled at ``high_risk_rate``, others at
    ``default_rate`` in country_based mode."""

    mode: SamplingMode = SamplingMode.NONE
    rate: float | None = None
    high_risk_countries: frozenset[str] = frozenset()
    high_risk_rate: float = 1.0
    default_rate: float = 0.1

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "Sampling":
        modes = {m.value: m for m in SamplingMode}
        mode = str(data.get("mode", "none")).strip().lower()
        if mode not in modes:
            raise IdsRuleError(
                f"invalid value '{mode}' for field 'sampling.mode': expected one of {', '.join(modes)}"
            )
        rate = data.get("rate")
        if modes[mode] in (SamplingMode.RANDOM, SamplingMode.HASH) and rate is None:
            raise IdsRuleError(f"sampling.rate is required for mode {mode}", "sampling.rate")
        countries = data.get("high_risk_countries") or []
        if not isinstance(countries, list) or len(countries) > MAX_COUNTRIES:
            raise IdsRuleError(
                f"sampling.high_risk_countries must be a list of at most {MAX_COUNTRIES} codes"
            )
        if not all(isinstance(c, str) and len(c) == 2 and c.isalpha() for c in countries):
            raise IdsRuleError("sampling.high_risk_countries must hold 2-letter country codes")
        return cls(
            modes[mode],
            _rate(rate, "rate") if rate is not None else None,
            frozenset(c.upper() for c in countries),
            _rate(data.get("high_risk_rate", 1.0), "high_risk_rate"),
            _rate(data.get("default_rate", 0.1), "default_rate"),
        )

    def keeps(self, src: IpAddress, dst: IpAddress, src_country: str | None = None) -> bool:
        """Whether an event of this flow is processed. ``s``/``d`` are the first u32 words of the
        addresses (the IPv4 value); random: ``h = (s^d)*2654435761 + s*17``, hash and country_based:
        ``h = (s^d)*2654435761`` (u32 wrapping); kept iff ``h / 0xFFFFFFFF < rate``."""
        if self.mode is SamplingMode.NONE:
            return True
        s, d = address_to_words(src)[0], address_to_words(dst)[0]
        h = ((s ^ d) * _GOLDEN) & _U32
        if self.mode is SamplingMode.RANDOM:
            h = (h + s * 17) & _U32
        if self.mode is SamplingMode.COUNTRY_BASED:
            listed = src_country is not None and src_country.upper() in self.high_risk_countries
            rate = self.high_risk_rate if listed else self.default_rate
        else:
            rate = self.rate if self.rate is not None else 1.0
        return h / _U32 < rate

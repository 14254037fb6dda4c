"""FirewallMap: where the firewall policy is enforced (the kernel, or a fake)."""

from abc import ABC, abstractmethod

from sentinel_domain.common import PacketHeader
from sentinel_domain.firewall import Decision, FirewallPolicy


class FirewallMap(ABC):
    """Holds one installed policy and classifies packets with it."""

    @abstractmethod
    def apply(self, policy: FirewallPolicy) -> None:
        """Install ``policy``; every packet classified afterwards uses it (rules in its order)."""

    @abstractmethod
    def decide(self, packet: PacketHeader) -> Decision:
        """The verdict and matched rule id the installed policy gives ``packet``."""

    @abstractmethod
    def counters(self) -> dict[str, int]:
        """Totals since load: at least ``seen``, ``passed``, ``dropped``, ``errors``."""

    @abstractmethod
    def rule_hits(self) -> dict[str, int]:
        """Packets matched per rule id since the policy was installed (rules never hit may be absent)."""

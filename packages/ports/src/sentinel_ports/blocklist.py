"""Blocklist: sources dropped before any firewall rule (the IPS enforcement point)."""

from abc import ABC, abstractmethod
from collections.abc import Iterable

from sentinel_domain.common import IpAddress, IpNetwork


class Blocklist(ABC):
    @abstractmethod
    def block(self, network: IpNetwork) -> None:
        """Drop every packet whose source is in ``network`` (idempotent)."""

    def block_many(self, networks: Iterable[IpNetwork]) -> None:
        """``block`` each of ``networks``; implementations write them in bulk where they can
        (a resync after a reload re-issues every live entry at once)."""
        for network in networks:
            self.block(network)

    @abstractmethod
    def unblock(self, network: IpNetwork) -> bool:
        """Stop dropping ``network``; False when it was not blocked."""

    @abstractmethod
    def networks(self) -> set[IpNetwork]:
        """What is blocked now."""

    @abstractmethod
    def drops_packet_from(self, source: IpAddress) -> bool:
        """Whether a packet from ``source`` is dropped by the blocklist right now."""

    @abstractmethod
    def drops(self) -> int:
        """Packets dropped by the blocklist since load."""

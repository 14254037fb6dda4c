"""An in-memory Blocklist."""

from sentinel_domain.common import IpAddress, IpNetwork
from sentinel_ports.blocklist import Blocklist


class InMemoryBlocklist(Blocklist):
    def __init__(self) -> None:
        self._networks: set[IpNetwork] = set()
        self._drops = 0

    def block(self, network: IpNetwork) -> None:
        self._networks.add(network)

    def unblock(self, network: IpNetwork) -> bool:
        if network in self._networks:
            self._networks.remove(network)
            return True
        return False

    def networks(self) -> set[IpNetwork]:
        return set(self._networks)

    def drops_packet_from(self, source: IpAddress) -> bool:
        dropped = any(n.version == source.version and source in n for n in self._networks)
        self._drops += dropped
        return dropped

    def drops(self) -> int:
        return self._drops

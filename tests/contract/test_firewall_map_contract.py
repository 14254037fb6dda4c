"""FirewallMap contract, run against the real kernel program and the in-memory fake."""

from sentinel_adapters.ebpf.firewall_map import BpfFirewallMap
from sentinel_testkit.contracts.firewall_map import FirewallMapContract
from sentinel_testkit.fakes.firewall_map import InMemoryFirewallMap


class TestInMemoryFirewallMap(FirewallMapContract):
    make_firewall_map = staticmethod(InMemoryFirewallMap)


class TestBpfFirewallMap(FirewallMapContract):
    make_firewall_map = staticmethod(BpfFirewallMap.standalone)

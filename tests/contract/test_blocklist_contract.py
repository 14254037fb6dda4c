"""Blocklist contract, run against xdp_firewall's kernel blocklist and the in-memory fake."""

from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_testkit.contracts.blocklist import BlocklistContract
from sentinel_testkit.fakes.blocklist import InMemoryBlocklist


class TestInMemoryBlocklist(BlocklistContract):
    make_blocklist = staticmethod(InMemoryBlocklist)


class TestBpfBlocklist(BlocklistContract):
    make_blocklist = staticmethod(BpfBlocklist.standalone)

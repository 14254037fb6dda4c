"""IocMap contract, run against the real tc_threatintel program and the IocDatabase-backed fake."""

from sentinel_adapters.ebpf.threatintel_map import BpfIocMap
from sentinel_testkit.contracts.ioc_map import IocMapContract
from sentinel_testkit.fakes.ioc_map import InMemoryIocMap


class TestInMemoryIocMap(IocMapContract):
    make_ioc_map = staticmethod(InMemoryIocMap)


class TestBpfIocMap(IocMapContract):
    make_ioc_map = staticmethod(BpfIocMap.standalone)

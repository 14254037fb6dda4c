"""IdsPrefilter contract, run against the real tc_ids program and the in-memory fake."""

from sentinel_adapters.ebpf.ids_map import BpfIdsPrefilter
from sentinel_testkit.contracts.ids_prefilter import IdsPrefilterContract
from sentinel_testkit.fakes.ids_prefilter import InMemoryIdsPrefilter


class TestInMemoryIdsPrefilter(IdsPrefilterContract):
    make_ids_prefilter = staticmethod(InMemoryIdsPrefilter)


class TestBpfIdsPrefilter(IdsPrefilterContract):
    make_ids_prefilter = staticmethod(BpfIdsPrefilter.standalone)

"""BpfFirewallMap: the FirewallMap port on the xdp_firewall program's maps.

Atomic updates: every classifier map holds two generations of the rule set. ``apply`` writes the
complete new policy into the idle generation, then flips ``fw_switch`` (one aligned word); the
program reads the switch once per packet, so each packet is judged entirely by the old or the new
rule set, never a mixture. Before a generation is overwritten again we wait a grace period, so
packets still classifying with it (microseconds) finish first.

Most of a generation is the same from one policy to the next: each array write sends only the
elements that differ from what this instance last wrote into that generation, and the interface
hash gets only the entries whose value changed (and loses the ones gone). A map whose
write failed halfway is written whole the next time.
"""

import ipaddress
import struct
import time
from collections.abc import Mapping

from sentinel_adapters.ebpf import codec
from sentinel_adapters.ebpf.addr_trie import CHUNKS, ENTRIES, WIDE_ENTRIES
from sentinel_adapters.ebpf.blocklist import BpfBlocklist
from sentinel_adapters.ebpf.firewall_compiler import (
    MAX_ADDR_CLASSES,
    MAX_IFACES,
    MAX_RULES,
    CompiledFirewall,
    compile_policy,
    encode_bitmap,
)
from sentinel_adapters.ebpf.frames import build_frame
from sentinel_adapters.ebpf.loader import BpfObject
from sentinel_adapters.ebpf.prog_run import XDP_DROP, prog_test_run
from sentinel_domain.common import PacketHeader
from sentinel_domain.firewall import Decision, FirewallPolicy, Verdict
from sentinel_ports.firewall_map import FirewallMap

PROGRAM = "xdp_firewall"
GRACE_SECONDS = 0.01  # >> the time one packet spends in the program (microseconds)
_U32 = struct.Struct("<I")
_META_ON_DROP = 1  # SENTINEL_FW_META_ON_DROP
_PORT_CLASSES = 8194
_SIZES = {
    "fw_src_addr": ENTRIES,
    "fw_dst_addr": ENTRIES,
    "fw_src_chunks": CHUNKS,
    "fw_dst_chunks": CHUNKS,
    "fw_src_wide": WIDE_ENTRIES,
    "fw_dst_wide": WIDE_ENTRIES,
    "fw_src_bits": MAX_ADDR_CLASSES,
    "fw_dst_bits": MAX_ADDR_CLASSES,
    "fw_proto_class": 256,
    "fw_proto_bits": 256,
    "fw_vlan_class": 4096,
    "fw_vlan_bits": 4096,
    "fw_sport_class": 65536,
    "fw_dport_class": 65536,
    "fw_sport_bits": _PORT_CLASSES,
    "fw_dport_bits": _PORT_CLASSES,
    "fw_rules": MAX_RULES,
    "fw_iface_bits": MAX_IFACES + 1,
}


def changed_runs(old: bytes | None, new: bytes, size: int, block: int = 64) -> list[tuple[int, int]]:
    """``[first, last)`` element ranges covering every element (of ``size`` bytes) where ``new``
    differs from ``old``; everything when there is no ``old``, the new tail when ``new`` is longer
    (a shorter ``new`` leaves the tail as it was: nothing refers to it). Spans of ``block`` blocks
    of ``block`` elements are compared first, then the blocks of a differing span; a differing
    block of small elements is written whole (cheaper than finding the elements in Python), one
    of large elements (bitmaps) element by element."""
    count = len(new) // size
    if old is None:
        return [(0, count)] if count else []
    if len(old) != len(new):  # a table that grew or shrank: diff what both have, write the rest
        common = min(len(old), len(new)) // size
        diffed = changed_runs(old[: common * size], new[: common * size], size, block)
        if count > common:
            if diffed and diffed[-1][1] == common:
                diffed[-1] = (diffed[-1][0], count)
            else:
                diffed.append((common, count))
        return diffed
    if old == new:  # one memcmp: most arrays are unchanged by a one-rule change
        return []
    runs: list[tuple[int, int]] = []

    def mark(first: int, last: int) -> None:
        if runs and runs[-1][1] == first:
            runs[-1] = (runs[-1][0], last)
        else:
            runs.append((first, last))

    # Two levels: spans of ``block`` blocks first, then the blocks of a span that differs (a
    # one-rule change touches a few places of tables up to megabytes long).
    step = block * size
    span = step * block
    for span_start in range(0, len(new), span):
        span_end = min(span_start + span, len(new))
        if old[span_start:span_end] == new[span_start:span_end]:
            continue
        for start in range(span_start, span_end, step):
            end = min(start + step, span_end)
            if old[start:end] == new[start:end]:
                continue
            if size < 64:
                mark(start // size, end // size)
                continue
            for offset in range(start, end, size):
                if old[offset : offset + size] != new[offset : offset + size]:
                    mark(offset // size, offset // size + 1)
    return runs


class BpfFirewallMap(FirewallMap):
    """Writes compiled policies into a loaded ``xdp_firewall`` object.

    ``interfaces`` maps interface names to ifindexes so interface-scoped rules get their bits.
    """

    def __init__(self, obj: BpfObject, interfaces: Mapping[str, int] | None = None) -> None:
        self._obj = obj
        self._owns_object = False
        self._interfaces = dict(interfaces or {})
        self._policies = [FirewallPolicy(), FirewallPolicy()]
        self._active = 0
        self._flipped_at = 0.0
        self._entries: dict[tuple[str, int], dict[bytes, bytes | None]] = {}  # hash maps; None: unknown
        self._arrays: dict[tuple[str, int], bytes] = {}  # what each generation's arrays hold
        self._rule_counts = [MAX_RULES, MAX_RULES]  # unknown at load: zero every slot once
        self._switch_flags = 0
        self.apply(FirewallPolicy())

    @classmethod
    def standalone(cls, interfaces: Mapping[str, int] | None = None) -> "BpfFirewallMap":
        """Load a private copy of the program (nothing attached); ``close`` releases it."""
        instance = cls(BpfObject.load_bundled(PROGRAM), interfaces)
        instance._owns_object = True
        return instance

    def close(self) -> None:
        if self._owns_object:
            self._obj.close()

    @property
    def policy(self) -> FirewallPolicy:
        """The policy packets are classified with now."""
        return self._policies[self._active]

    @property
    def generation(self) -> int:
        return self._active

    @property
    def prog_fd(self) -> int:
        return self._obj.program_fd(PROGRAM)

    def rule_id_at(self, generation: int, index: int) -> str | None:
        """The id of the rule the kernel reported as ``index`` in ``generation`` (None: unknown)."""
        rules = self._policies[generation & 1].rules
        return rules[index].id if 0 <= index < len(rules) else None

    def chain_ratelimit(self, prog_fd: int) -> None:
        """Tail-call ``prog_fd`` (xdp_ratelimit) for every packet the firewall passes."""
        self._obj.map("fw_jump").update(_U32.pack(0), struct.pack("<i", prog_fd))

    def unchain_ratelimit(self) -> None:
        """Empty the tail-call slot: passed packets go straight up the stack again."""
        self._obj.map("fw_jump").delete(_U32.pack(0))

    def blocklist(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
        """Drop every packet from ``network`` before any rule (the IPS enforcement point)."""
        BpfBlocklist(self._obj).block(network)

    def unblocklist(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
        return BpfBlocklist(self._obj).unblock(network)

    def apply(self, policy: FirewallPolicy) -> None:
        """Install ``policy`` atomically (see the module docstring)."""
        compiled = compile_policy(policy, self._interfaces)
        target = 1 - self._active
        wait = self._flipped_at + GRACE_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._write(compiled, len(policy.rules), target)
        self._policies[target] = policy
        self._write_switch(target)
        self._active = target
        self._flipped_at = time.monotonic()

    def _write_switch(self, active: int) -> None:
        self._obj.map("fw_switch").update(_U32.pack(0), struct.pack("<II", active, self._switch_flags))

    def report_drops_in_metadata(self, on: bool = True) -> None:
        """Have the program write its XDP metadata on drops too, for test runs that read which
        rule dropped a packet (it costs the drop path a helper call, ~8 ns here)."""
        flags = self._switch_flags | _META_ON_DROP if on else self._switch_flags & ~_META_ON_DROP
        if flags != self._switch_flags:
            self._switch_flags = flags
            self._write_switch(self._active)

    def _write(self, c: CompiledFirewall, rule_count: int, gen: int) -> None:
        m = self._obj.map
        encoded: dict[tuple[int, int], bytes] = {}

        def blob(bitmaps: list[int], field: str) -> bytes:
            # Most entries share a handful of distinct bitmaps: encode each once.
            anchored = c.anchors[field]
            out = []
            for bits in bitmaps:
                key = (bits, bits & anchored)
                value = encoded.get(key)
                if value is None:
                    value = encoded[key] = encode_bitmap(*key)
                out.append(value)
            return b"".join(out)

        # A map whose write fails halfway holds a mix: what it holds is then unknown, so the next
        # apply writes it whole (arrays) or rewrites and deletes every key either set had.
        def array(name: str, values: bytes) -> None:
            target = m(name)
            size = target.stored_value_size
            held = self._arrays.pop((name, gen), None)
            for first, last in changed_runs(held, values, size):
                target.update_array(values[first * size : last * size], start=gen * _SIZES[name] + first)
            self._arrays[(name, gen)] = values

        def entries(name: str, wanted: dict[bytes, bytes]) -> None:
            # Hash-like maps: write the entries whose value changed, delete the ones gone.
            held = self._entries.get((name, gen), {})
            self._entries[(name, gen)] = dict.fromkeys(held.keys() | wanted.keys(), None)
            target = m(name)
            for key, value in wanted.items():
                if held.get(key) != value:
                    target.update(key, value)
            for stale in held.keys() - wanted.keys():
                target.delete(stale)
            self._entries[(name, gen)] = dict(wanted)

        actions = b"".join(struct.pack("<B3x", a) for a in c.rule_actions)
        array("fw_rules", actions + bytes(4 * MAX_RULES - len(actions)))
        for name, classes, bits in (
            ("proto", c.proto_class, c.proto_bits),
            ("vlan", c.vlan_class, c.vlan_bits),
            ("sport", c.sport_class, c.sport_bits),
            ("dport", c.dport_class, c.dport_bits),
        ):
            array(f"fw_{name}_bits", blob(bits, name))
            array(f"fw_{name}_class", classes.tobytes())
        for field, class_bits, table in (("src", c.src_bits, c.src_table), ("dst", c.dst_bits, c.dst_table)):
            array(f"fw_{field}_bits", blob(class_bits, field))
            array(f"fw_{field}_chunks", table.header_bytes())
            array(f"fw_{field}_wide", table.wide_bytes())
            array(f"fw_{field}_addr", table.table_bytes())
        # Slot 0: interfaces not listed; each listed interface gets its own slot.
        listed = sorted(index for index in c.iface if index)
        bitmaps = [c.iface[0]] + [c.iface[index] for index in listed]
        array("fw_iface_bits", blob(bitmaps + [0] * (MAX_IFACES + 1 - len(bitmaps)), "iface"))
        entries(
            "fw_iface",
            {struct.pack("<II", gen, index): _U32.pack(slot) for slot, index in enumerate(listed, 1)},
        )
        # Zero the hit counters of every slot either rule set uses (the rest are zero already).
        hits = m("fw_rule_hits")
        used = max(rule_count, self._rule_counts[gen], 1)
        hits.update_array(bytes(hits.stored_value_size * used), start=gen * MAX_RULES)
        self._rule_counts[gen] = rule_count
        m("fw_config").update(
            _U32.pack(gen), struct.pack("<BB2xI", c.default_drop, c.iface_scoped, rule_count)
        )

    def decide(self, packet: PacketHeader) -> Decision:
        """Run ``packet`` through the real program (BPF_PROG_TEST_RUN) and read its metadata.

        A TCP/UDP packet without ports is sent as a non-first fragment, which is how the wire
        carries one. The packet arrives on its ``interface`` when that is in the adapter's
        interface map; otherwise the kernel runs it as arriving on ``lo`` (keep ``lo`` out of the
        map to model "any other interface").
        """
        no_ports = packet.protocol in (6, 17) and packet.src_port is None
        frame = build_frame(packet, fragment_offset=8 if no_ports else 0)
        index = self._interfaces.get(packet.interface, 0)
        reporting = bool(self._switch_flags & _META_ON_DROP)
        self.report_drops_in_metadata()  # for this run only: a drop's rule is in its metadata
        try:
            result = prog_test_run(self.prog_fd, frame, ingress_ifindex=index)
        finally:
            self.report_drops_in_metadata(reporting)
        meta = codec.decode_xdp_meta(result.data_out) if len(result.data_out) > len(frame) else None
        if result.retval == XDP_DROP:
            verdict = Verdict.DROP
        elif meta is not None and meta[1] == codec.ACTION_LOG:
            verdict = Verdict.LOG
        else:
            verdict = Verdict.PASS
        rule_id = None
        if meta is not None and meta[0] != codec.NO_RULE:
            rule_id = self.rule_id_at(1 if meta[3] & codec.META_GEN1 else 0, meta[0])
        return Decision(verdict, rule_id)

    def counters(self) -> dict[str, int]:
        metrics = self._obj.map("fw_metrics")
        return {
            name: codec.sum_per_cpu_u64(metrics.per_cpu_values(_U32.pack(slot)))
            for slot, name in enumerate(codec.FW_COUNTERS)
        }

    def rule_hits(self) -> dict[str, int]:
        hits_map = self._obj.map("fw_rule_hits")
        base = self._active * MAX_RULES
        out: dict[str, int] = {}
        for index, rule in enumerate(self.policy.rules):
            hits = codec.sum_per_cpu_u64(hits_map.per_cpu_values(_U32.pack(base + index)))
            if hits:
                out[rule.id] = out.get(rule.id, 0) + hits
        return out

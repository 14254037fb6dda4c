// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* tc_threatintel (TC ingress): source and destination addresses against the IOC set. A bloom
 * filter per family answers "maybe", the exact hash confirms and says what to do; both hit ->
 * the higher action wins (the source on a tie). DROP -> TC_ACT_SHOT; every confirmed hit emits
 * a PacketEvent. Pass is TC_ACT_UNSPEC so later classifiers still run.
 *
 * IOC sets are generations: the ti_* map-in-map arrays hold one bloom and one hash per family
 * per generation, and ti_config.generation picks the live one. Userspace loads a second copy of
 * this object with only ti_build_blooms enabled, as a factory of empty maps; fills its hashes,
 * test-runs ti_build_blooms (the blooms are derived from the hashes in-kernel), slots the maps
 * into the spare generation and flips the index. No packet ever sees a half-loaded set, and
 * bloom filters, which cannot delete, are always built fresh (threatintel_map.py). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sentinel/events.h"
#include "sentinel/firewall.h"
#include "sentinel/parsing.h"
#include "sentinel/ringbuf.h"
#include "sentinel/threatintel.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define EVENTS_RING_SIZE (1 << 20)

/* Referenced so the ABI structs reach the object's BTF for the layout test. */
const volatile struct sentinel_packet_event sentinel_abi_packet_event __attribute__((used));
const volatile struct sentinel_ti_value sentinel_abi_ti_value __attribute__((used));
const volatile struct sentinel_ti_config sentinel_abi_ti_config __attribute__((used));
const volatile struct sentinel_ti_key_v4 sentinel_abi_ti_key_v4 __attribute__((used));
const volatile struct sentinel_ti_key_v6 sentinel_abi_ti_key_v6 __attribute__((used));
const volatile enum sentinel_ti_limit sentinel_abi_ti_limit __attribute__((used));
const volatile enum sentinel_ti_flag sentinel_abi_ti_flag __attribute__((used));
const volatile enum sentinel_ti_counter sentinel_abi_ti_counter __attribute__((used));
const volatile enum sentinel_event_type sentinel_abi_event_type __attribute__((used));

/* One generation's maps. Hashes allocate on insert (no preallocation of 1M elements). */
#define BLOOM_DEF(name, entries, key_type)                             \
	struct name {                                                  \
		__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);               \
		__uint(max_entries, entries);                          \
		__uint(map_extra, SENTINEL_TI_BLOOM_HASHES);           \
		__type(value, key_type);                               \
	}
#define IOCS_DEF(name, entries, key_type)                              \
	struct name {                                                  \
		__uint(type, BPF_MAP_TYPE_HASH);                       \
		__uint(map_flags, BPF_F_NO_PREALLOC);                  \
		__uint(max_entries, entries);                          \
		__type(key, key_type);                                 \
		__type(value, struct sentinel_ti_value);               \
	}

/* This object's own set: what a factory copy hands over (and generation 0 of a fresh agent). */
BLOOM_DEF(ti_bloom_v4_def, SENTINEL_TI_MAX_IOCS, struct sentinel_ti_key_v4) ti_set_bloom_v4 SEC(".maps");
BLOOM_DEF(ti_bloom_v6_def, SENTINEL_TI_MAX_IOCS, struct sentinel_ti_key_v6) ti_set_bloom_v6 SEC(".maps");
IOCS_DEF(ti_iocs_v4_def, SENTINEL_TI_MAX_IOCS, struct sentinel_ti_key_v4) ti_set_iocs_v4 SEC(".maps");
IOCS_DEF(ti_iocs_v6_def, SENTINEL_TI_MAX_IOCS, struct sentinel_ti_key_v6) ti_set_iocs_v6 SEC(".maps");

/* Inner-map templates of the generation arrays. The kernel matches inner hashes and blooms on
 * type, key, value and flags, not size, so a one-entry template keeps map creation (libbpf
 * builds a throwaway template per array) cheap for every factory copy. */
BLOOM_DEF(ti_bloom_v4_tpl, 1, struct sentinel_ti_key_v4);
BLOOM_DEF(ti_bloom_v6_tpl, 1, struct sentinel_ti_key_v6);
IOCS_DEF(ti_iocs_v4_tpl, 1, struct sentinel_ti_key_v4);
IOCS_DEF(ti_iocs_v6_tpl, 1, struct sentinel_ti_key_v6);

/* Userspace slots the sets in (BpfIocMap): an empty slot means "no IOCs", every packet passes. */
#define GENERATIONS(name, tpl)                                          \
	struct {                                                        \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);               \
		__uint(max_entries, SENTINEL_TI_GENERATIONS);           \
		__type(key, __u32);                                     \
		__array(values, struct tpl);                            \
	} name SEC(".maps")

GENERATIONS(ti_bloom_v4, ti_bloom_v4_tpl);
GENERATIONS(ti_bloom_v6, ti_bloom_v6_tpl);
GENERATIONS(ti_iocs_v4, ti_iocs_v4_tpl);
GENERATIONS(ti_iocs_v6, ti_iocs_v6_tpl);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_ti_config);
} ti_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_TI_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ti_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_SIZE);
} ti_events SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&ti_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline void emit(struct sentinel_packet *p, __u8 action, __u16 feed, __u8 flags)
{
	if (!sentinel_ring_has_room(&ti_events, EVENTS_RING_SIZE)) {
		count(SENTINEL_TI_EVENTS_SKIPPED);
		count(SENTINEL_TI_EVENTS_DROPPED);
		return;
	}
	struct sentinel_packet_event *e = bpf_ringbuf_reserve(&ti_events, sizeof(*e), 0);
	if (!e) {
		count(SENTINEL_TI_RESERVE_FAILED);
		count(SENTINEL_TI_EVENTS_DROPPED);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(e->src_addr, p->src, sizeof(e->src_addr));
	__builtin_memcpy(e->dst_addr, p->dst, sizeof(e->dst_addr));
	e->src_port = p->src_port;
	e->dst_port = p->dst_port;
	e->protocol = p->protocol;
	e->event_type = SENTINEL_EVENT_THREATINTEL;
	e->action = action;
	e->flags = p->flags | flags;
	e->rule_id = feed;
	e->vlan_id = p->vlan_id;
	e->cpu_id = bpf_get_smp_processor_id();
	bpf_ringbuf_submit(e, 0);
	count(SENTINEL_TI_EVENTS_EMITTED);
}

/* Whether one address is an IOC (its entry copied to *out): the bloom filter first (most
 * addresses stop there), then the hash, which rejects the bloom's false positives. */
static __always_inline int ioc_of(void *bloom, void *iocs, void *key, struct sentinel_ti_value *out)
{
	if (bpf_map_peek_elem(bloom, key) != 0)
		return 0;
	struct sentinel_ti_value *v = bpf_map_lookup_elem(iocs, key);
	if (!v) {
		count(SENTINEL_TI_BLOOM_FALSE_POSITIVES);
		return 0;
	}
	*out = *v;
	return 1;
}

SEC("tc")
int tc_threatintel(struct __sk_buff *skb)
{
	struct sentinel_packet p = {};
	__u32 zero = 0;
	int with_meta;

	count(SENTINEL_TI_SEEN);
	struct sentinel_ti_config *cfg = bpf_map_lookup_elem(&ti_config, &zero);
	if (!cfg || !cfg->enabled)
		return TC_ACT_UNSPEC;
	/* One read of the generation: both families and both addresses use the same set. */
	__u32 gen = cfg->generation & (SENTINEL_TI_GENERATIONS - 1);

	int parsed = sentinel_tc_packet(skb, &p, &with_meta);
	if (parsed == SENTINEL_PARSE_NOT_IP)
		return TC_ACT_UNSPEC;
	if (parsed != SENTINEL_PARSE_OK) {
		count(SENTINEL_TI_ERRORS); /* internal error or garbage: pass (contract §6.0) */
		return TC_ACT_UNSPEC;
	}
	if (with_meta)
		count(SENTINEL_TI_WITH_META);

	/* Each family with its own map pointers: the verifier wants one map per call site. */
	struct sentinel_ti_value src = {}, dst = {};
	int src_hit, dst_hit;
	if (p.is_ipv6) {
		struct sentinel_ti_key_v6 s6, d6;
		__builtin_memcpy(s6.addr, p.src_key, sizeof(s6.addr));
		__builtin_memcpy(d6.addr, p.dst_key, sizeof(d6.addr));
		void *bloom = bpf_map_lookup_elem(&ti_bloom_v6, &gen);
		void *iocs = bpf_map_lookup_elem(&ti_iocs_v6, &gen);
		if (!bloom || !iocs) /* no set installed yet */
			return TC_ACT_UNSPEC;
		src_hit = ioc_of(bloom, iocs, &s6, &src);
		dst_hit = ioc_of(bloom, iocs, &d6, &dst);
	} else {
		struct sentinel_ti_key_v4 s4, d4;
		__builtin_memcpy(s4.addr, p.src_key, sizeof(s4.addr));
		__builtin_memcpy(d4.addr, p.dst_key, sizeof(d4.addr));
		void *bloom = bpf_map_lookup_elem(&ti_bloom_v4, &gen);
		void *iocs = bpf_map_lookup_elem(&ti_iocs_v4, &gen);
		if (!bloom || !iocs) /* no set installed yet */
			return TC_ACT_UNSPEC;
		src_hit = ioc_of(bloom, iocs, &s4, &src);
		dst_hit = ioc_of(bloom, iocs, &d4, &dst);
	}
	if (!src_hit && !dst_hit)
		return TC_ACT_UNSPEC;

	/* Both hit: the higher action decides, the source on a tie. */
	int by_dst = dst_hit && (!src_hit || dst.action > src.action);
	struct sentinel_ti_value *win = by_dst ? &dst : &src;
	int drop = win->action == SENTINEL_TI_DROP;
	__u8 flags = (src_hit ? SENTINEL_TI_FLAG_SRC_HIT : 0) | (dst_hit ? SENTINEL_TI_FLAG_DST_HIT : 0) |
		     (by_dst ? SENTINEL_TI_FLAG_BY_DST : 0);

	count(SENTINEL_TI_MATCHED);
	emit(&p, drop ? SENTINEL_ACTION_DROP : SENTINEL_ACTION_LOG, win->feed_id, flags);
	if (drop) {
		count(SENTINEL_TI_DROPPED);
		return TC_ACT_SHOT;
	}
	return TC_ACT_UNSPEC;
}

/* Userspace fills this object's hashes, then test-runs this once: every hash key goes into the
 * family's bloom filter in-kernel (the kernel has no batch update for bloom filters).
 * Returns the number of keys pushed; userspace checks it against what it wrote. */
static long push_v4(struct bpf_map *map, struct sentinel_ti_key_v4 *key, struct sentinel_ti_value *v,
		    __u64 *pushed)
{
	struct sentinel_ti_key_v4 k = *key;
	if (bpf_map_push_elem(&ti_set_bloom_v4, &k, 0) == 0)
		*pushed += 1;
	return 0;
}

static long push_v6(struct bpf_map *map, struct sentinel_ti_key_v6 *key, struct sentinel_ti_value *v,
		    __u64 *pushed)
{
	struct sentinel_ti_key_v6 k = *key;
	if (bpf_map_push_elem(&ti_set_bloom_v6, &k, 0) == 0)
		*pushed += 1;
	return 0;
}

SEC("tc")
int ti_build_blooms(struct __sk_buff *skb)
{
	__u64 pushed = 0;
	bpf_for_each_map_elem(&ti_set_iocs_v4, push_v4, &pushed, 0);
	bpf_for_each_map_elem(&ti_set_iocs_v6, push_v6, &pushed, 0);
	return (int)pushed;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

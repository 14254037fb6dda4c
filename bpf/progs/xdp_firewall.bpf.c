// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* xdp_firewall: IPS blocklist, then rule classification by per-field bitmaps
 * (rule-count independent), then the verdict; deny/log/default-drop emit a PacketEvent. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sentinel/addr_trie.h"
#include "sentinel/events.h"
#include "sentinel/firewall.h"
#include "sentinel/parsing.h"
#include "sentinel/ringbuf.h"

#define EVENTS_RING_SIZE (1 << 20)

/* Referenced so the ABI structs reach the object's BTF for the layout test. */
const volatile struct sentinel_packet_event sentinel_abi_packet_event __attribute__((used));
const volatile struct sentinel_xdp_meta sentinel_abi_xdp_meta __attribute__((used));

/* Source and destination address tables (sentinel/addr_trie.h): address -> bitmap class. */
SENTINEL_ADDR_TABLE(fw_src_addr);
SENTINEL_ADDR_TABLE(fw_dst_addr);
SENTINEL_ADDR_CHUNKS_MAP(fw_src_chunks);
SENTINEL_ADDR_CHUNKS_MAP(fw_dst_chunks);
SENTINEL_ADDR_WIDE_MAP(fw_src_wide);
SENTINEL_ADDR_WIDE_MAP(fw_dst_wide);
SENTINEL_ADDR_V6_LOOKUP(fw_src_class_v6, fw_src_addr, fw_src_chunks, fw_src_wide)
SENTINEL_ADDR_V6_LOOKUP(fw_dst_class_v6, fw_dst_addr, fw_dst_chunks, fw_dst_wide)

#define BITMAP_ARRAY(name, entries)                                 \
	struct {                                                    \
		__uint(type, BPF_MAP_TYPE_ARRAY);                   \
		__uint(max_entries, entries);                       \
		__type(key, __u32);                                 \
		__type(value, struct sentinel_fw_bitmap);           \
	} name SEC(".maps")

/* Arrays hold both generations: entry = generation * size + index. Addresses, protocol, VLAN id
 * and port map to a class, a class to its bitmap: values with the same rules share one bitmap,
 * so a rule change rewrites a few bitmaps, not one per value. */
BITMAP_ARRAY(fw_src_bits, 2 * SENTINEL_FW_MAX_ADDR_CLASSES);
BITMAP_ARRAY(fw_dst_bits, 2 * SENTINEL_FW_MAX_ADDR_CLASSES);
BITMAP_ARRAY(fw_proto_bits, 2 * SENTINEL_FW_MAX_PROTO_CLASSES);
BITMAP_ARRAY(fw_vlan_bits, 2 * SENTINEL_FW_MAX_VLAN_CLASSES);
BITMAP_ARRAY(fw_sport_bits, 2 * SENTINEL_FW_MAX_PORT_CLASSES);
BITMAP_ARRAY(fw_dport_bits, 2 * SENTINEL_FW_MAX_PORT_CLASSES);

#define CLASS_ARRAY(name, entries)                                  \
	struct {                                                    \
		__uint(type, BPF_MAP_TYPE_ARRAY);                   \
		__uint(max_entries, entries);                       \
		__type(key, __u32);                                 \
		__type(value, __u16);                               \
	} name SEC(".maps")

CLASS_ARRAY(fw_proto_class, 2 * 256);
CLASS_ARRAY(fw_vlan_class, 2 * 4096);
/* port -> class; class 0 is "packet has no ports". */
CLASS_ARRAY(fw_sport_class, 2 * 65536);
CLASS_ARRAY(fw_dport_class, 2 * 65536);

/* (generation, ifindex) -> slot in fw_iface_bits; an interface not listed uses slot 0. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SENTINEL_FW_MAX_IFACES);
	__type(key, struct sentinel_fw_iface_key);
	__type(value, __u32);
} fw_iface SEC(".maps");

/* generation * (SENTINEL_FW_MAX_IFACES + 1) + slot -> the rules in scope on those interfaces. */
BITMAP_ARRAY(fw_iface_bits, 2 * (SENTINEL_FW_MAX_IFACES + 1));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SENTINEL_FW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sentinel_fw_rule);
} fw_rules SEC(".maps");

/* Per generation: default policy and rule count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_FW_GENERATIONS);
	__type(key, __u32);
	__type(value, struct sentinel_fw_config);
} fw_config SEC(".maps");

/* The active generation: read once per packet, flipped once per reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_fw_switch);
} fw_switch SEC(".maps");

/* IPS blocklist: checked before any rule; value unused (presence). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct sentinel_lpm_v4_key);
	__type(value, __u8);
} fw_block_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct sentinel_lpm_v6_key);
	__type(value, __u8);
} fw_block_v6 SEC(".maps");

/* [0] IPv4, [1] IPv6: non-zero while that blocklist may hold entries. An empty LPM trie still
 * costs a lookup (10-15 ns a packet here), so userspace clears the flag when it empties one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} fw_block_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_FW_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} fw_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * SENTINEL_FW_MAX_RULES);
	__type(key, __u32);
	__type(value, __u64);
} fw_rule_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_SIZE);
} fw_events SEC(".maps");

/* Slot 0: xdp_ratelimit, filled by userspace when rate limiting is enabled. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} fw_jump SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&fw_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline void emit(struct sentinel_packet *p, __u8 action, __u32 rule, __u8 flags)
{
	if (!sentinel_ring_has_room(&fw_events, EVENTS_RING_SIZE)) {
		count(SENTINEL_FW_EVENTS_SKIPPED);
		count(SENTINEL_FW_EVENTS_DROPPED);
		return;
	}
	struct sentinel_packet_event *e = bpf_ringbuf_reserve(&fw_events, sizeof(*e), 0);
	if (!e) {
		count(SENTINEL_FW_RESERVE_FAILED);
		count(SENTINEL_FW_EVENTS_DROPPED);
		return;
	}
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(e->src_addr, p->src, sizeof(e->src_addr));
	__builtin_memcpy(e->dst_addr, p->dst, sizeof(e->dst_addr));
	e->src_port = p->src_port;
	e->dst_port = p->dst_port;
	e->protocol = p->protocol;
	e->event_type = SENTINEL_EVENT_FIREWALL;
	e->action = action;
	e->flags = p->flags | flags;
	e->rule_id = rule;
	e->vlan_id = p->vlan_id;
	e->cpu_id = bpf_get_smp_processor_id();
	bpf_ringbuf_submit(e, 0);
	count(SENTINEL_FW_EVENTS_EMITTED);
}

/* The flag is read per family with a constant key: read once with a computed key, the skipped
 * and the looked-up paths reached the classifier in states the verifier could not merge (636k
 * instructions processed instead of 406k). */
static __always_inline int blocklisted(struct sentinel_packet *p)
{
	if (p->is_ipv6) {
		__u32 family = 1;
		__u32 *active = bpf_map_lookup_elem(&fw_block_active, &family);
		if (active && !*active)
			return 0;
		struct sentinel_lpm_v6_key k = {.prefixlen = 128};
		__builtin_memcpy(k.addr, p->src_key, 16);
		return bpf_map_lookup_elem(&fw_block_v6, &k) != NULL;
	}
	__u32 family = 0;
	__u32 *active = bpf_map_lookup_elem(&fw_block_active, &family);
	if (active && !*active)
		return 0;
	struct sentinel_lpm_v4_key k = {.prefixlen = 32};
	__builtin_memcpy(k.addr, p->src_key, 4);
	return bpf_map_lookup_elem(&fw_block_v4, &k) != NULL;
}

/* Count trailing zeros of a non-zero word, branch-free (de Bruijn multiply + table):
 * clang 14's BPF backend crashes on __builtin_ctzll, and a branchy version makes the
 * verifier fork states on every loop iteration. */
static const __u8 debruijn_ctz[64] = {0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4, 62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5, 63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11, 46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6};

static __always_inline __u32 ctz64(__u64 x)
{
	return debruijn_ctz[((x & -x) * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* Lowest set bit of the AND of the field bitmaps = highest-priority matching rule. Only words
 * some field anchors (struct sentinel_fw_bitmap) are visited. */
static __always_inline __u32 classify(struct xdp_md *ctx, struct sentinel_packet *p, __u32 gen,
				      struct sentinel_fw_config *cfg)
{
	struct sentinel_fw_bitmap *src, *dst, *proto, *vlan, *sport, *dport, *iface;
	__u32 key;

	__u32 src_class, dst_class;
	if (p->is_ipv6) {
		__u32 s[4], d[4];
		__builtin_memcpy(s, p->src_key, 16);
		__builtin_memcpy(d, p->dst_key, 16);
		src_class = fw_src_class_v6(gen, s[0], s[1], s[2], s[3]);
		dst_class = fw_dst_class_v6(gen, d[0], d[1], d[2], d[3]);
	} else {
		__u32 s, d;
		__builtin_memcpy(&s, p->src_key, 4);
		__builtin_memcpy(&d, p->dst_key, 4);
		src_class = sentinel_addr_v4(&fw_src_addr, gen, s);
		dst_class = sentinel_addr_v4(&fw_dst_addr, gen, d);
	}
	key = gen * SENTINEL_FW_MAX_ADDR_CLASSES + src_class;
	src = bpf_map_lookup_elem(&fw_src_bits, &key);
	key = gen * SENTINEL_FW_MAX_ADDR_CLASSES + dst_class;
	dst = bpf_map_lookup_elem(&fw_dst_bits, &key);
	key = gen * 256 + p->protocol;
	__u16 *c = bpf_map_lookup_elem(&fw_proto_class, &key);
	key = gen * SENTINEL_FW_MAX_PROTO_CLASSES + (c ? *c : 0);
	proto = bpf_map_lookup_elem(&fw_proto_bits, &key);
	key = gen * 4096 + (p->vlan_id & 0x0FFF);
	c = bpf_map_lookup_elem(&fw_vlan_class, &key);
	key = gen * SENTINEL_FW_MAX_VLAN_CLASSES + (c ? *c : 0);
	vlan = bpf_map_lookup_elem(&fw_vlan_bits, &key);
	__u32 sclass = 0, dclass = 0;
	if (p->has_ports) {
		key = gen * 65536 + p->src_port;
		c = bpf_map_lookup_elem(&fw_sport_class, &key);
		sclass = c ? *c : 0;
		key = gen * 65536 + p->dst_port;
		c = bpf_map_lookup_elem(&fw_dport_class, &key);
		dclass = c ? *c : 0;
	}
	sclass += gen * SENTINEL_FW_MAX_PORT_CLASSES;
	dclass += gen * SENTINEL_FW_MAX_PORT_CLASSES;
	sport = bpf_map_lookup_elem(&fw_sport_bits, &sclass);
	dport = bpf_map_lookup_elem(&fw_dport_bits, &dclass);
	/* Without interface-scoped rules every interface uses slot 0: no hash lookup. */
	key = 0;
	/* read here, not before parsing: a flag live across the parser doubles the verifier's work */
	if (!cfg || cfg->iface_scoped) {
		struct sentinel_fw_iface_key ik = {.gen = gen, .ifindex = ctx->ingress_ifindex};
		__u32 *slot = bpf_map_lookup_elem(&fw_iface, &ik);
		key = slot ? *slot : 0;
	}
	key += gen * (SENTINEL_FW_MAX_IFACES + 1);
	iface = bpf_map_lookup_elem(&fw_iface_bits, &key);
	if (!src || !dst || !proto || !vlan || !sport || !dport || !iface)
		return SENTINEL_NO_RULE;

	__u64 summary = src->summary & dst->summary & proto->summary & vlan->summary &
			sport->summary & dport->summary & iface->summary;
	summary &= src->anchor | dst->anchor | proto->anchor | vlan->anchor | sport->anchor | dport->anchor |
		   iface->anchor;
	for (int i = 0; i < SENTINEL_FW_WORDS && summary; i++) {
		__u32 w = ctz64(summary);
		summary &= summary - 1;
		/* clang knows the table holds < 64 and would drop a range check the verifier needs */
		barrier_var(w);
		w &= SENTINEL_FW_WORDS - 1;
		__u64 bits = src->words[w] & dst->words[w] & proto->words[w] & vlan->words[w] &
			     sport->words[w] & dport->words[w] & iface->words[w];
		if (bits)
			return w * 64 + ctz64(bits);
	}
	return SENTINEL_NO_RULE;
}

/* Best effort: a driver without metadata room simply gets none (TC then re-parses). */
static __always_inline void write_meta(struct xdp_md *ctx, struct sentinel_packet *p, __u32 rule, __u8 action,
				       __u32 gen)
{
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct sentinel_xdp_meta)))
		return;
	void *data = (void *)(long)ctx->data;
	struct sentinel_xdp_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > data)
		return;
	m->rule_id = rule;
	m->action = action;
	m->ratelimit_status = SENTINEL_RL_NOT_CHECKED;
	m->meta_flags = SENTINEL_META_PRESENT | (p->is_ipv6 ? SENTINEL_META_IPV6 : 0) |
			(p->has_ports ? SENTINEL_META_HAS_PORTS : 0) |
			((p->flags & SENTINEL_FLAG_VLAN) ? SENTINEL_META_VLAN : 0) |
			(gen ? SENTINEL_META_GEN1 : 0);
	m->protocol = p->protocol;
	m->l3_offset = p->l3_offset;
	m->l4_offset = p->l4_offset;
	m->src_port = p->src_port;
	m->dst_port = p->dst_port;
}

/* A passed packet continues to the rate limiter; an empty slot (or a failed call) passes. */
static __always_inline int pass_on(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &fw_jump, 0);
	return XDP_PASS;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sentinel_packet p = {};
	__u32 zero = 0;
	/* One read of the switch: the whole packet is judged by one generation, never a mix. */
	struct sentinel_fw_switch *sw = bpf_map_lookup_elem(&fw_switch, &zero);
	__u32 gen = sw ? (sw->active & 1) : 0;
	__u8 gen_flag = gen ? SENTINEL_FLAG_GEN1 : 0;
	struct sentinel_fw_config *cfg = bpf_map_lookup_elem(&fw_config, &gen);
	int default_drop = cfg && cfg->default_policy == 1;

	count(SENTINEL_FW_SEEN);
	int parsed = sentinel_parse(data, data_end, &p);
	if (parsed == SENTINEL_PARSE_NOT_IP) {
		count(SENTINEL_FW_PASSED);
		return XDP_PASS;
	}
	if (parsed != SENTINEL_PARSE_OK) {
		/* Unparseable: the default policy decides (fail open or fail closed), counted. */
		count(SENTINEL_FW_ERRORS);
		count(default_drop ? SENTINEL_FW_DROPPED : SENTINEL_FW_PASSED);
		return default_drop ? XDP_DROP : XDP_PASS;
	}
	if (blocklisted(&p)) {
		count(SENTINEL_FW_BLOCKLIST_DROPS);
		count(SENTINEL_FW_DROPPED);
		emit(&p, SENTINEL_ACTION_DROP, SENTINEL_NO_RULE, SENTINEL_FLAG_BLOCKLIST);
		return XDP_DROP;
	}

	__u32 rule = classify(ctx, &p, gen, cfg);
	__u8 action;
	if (rule == SENTINEL_NO_RULE) {
		if (default_drop) {
			count(SENTINEL_FW_DROPPED);
			emit(&p, SENTINEL_ACTION_DROP, SENTINEL_NO_RULE, SENTINEL_FLAG_DEFAULT_POLICY | gen_flag);
			if (sw && (sw->flags & SENTINEL_FW_META_ON_DROP))
				write_meta(ctx, &p, SENTINEL_NO_RULE, SENTINEL_ACTION_DROP, gen);
			return XDP_DROP;
		}
		count(SENTINEL_FW_PASSED);
		write_meta(ctx, &p, SENTINEL_NO_RULE, SENTINEL_ACTION_PASS, gen);
		return pass_on(ctx);
	}
	__u32 slot = gen * SENTINEL_FW_MAX_RULES + rule;
	struct sentinel_fw_rule *r = bpf_map_lookup_elem(&fw_rules, &slot);
	action = r ? r->action : SENTINEL_ACTION_PASS;
	__u64 *hits = bpf_map_lookup_elem(&fw_rule_hits, &slot);
	if (hits)
		*hits += 1;
	if (action == SENTINEL_ACTION_DROP) {
		count(SENTINEL_FW_DROPPED);
		emit(&p, SENTINEL_ACTION_DROP, rule, gen_flag);
		if (sw && (sw->flags & SENTINEL_FW_META_ON_DROP))
			write_meta(ctx, &p, rule, SENTINEL_ACTION_DROP, gen);
		return XDP_DROP;
	}
	if (action == SENTINEL_ACTION_LOG) {
		count(SENTINEL_FW_LOGGED);
		emit(&p, SENTINEL_ACTION_LOG, rule, gen_flag);
	}
	count(SENTINEL_FW_PASSED);
	write_meta(ctx, &p, rule, action, gen);
	return pass_on(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

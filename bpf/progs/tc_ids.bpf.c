// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* tc_ids: the kernel half of the IDS. A prefilter keyed by (protocol, port) picks the packets
 * some rule could match, 1-in-N flow sampling thins them, and the first bytes of their payload
 * go to a ring for the userspace engine. Never drops, never runs a pattern. On ingress it reads
 * xdp_firewall's metadata (offsets, ports) instead of parsing the headers again. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sentinel/events.h"
#include "sentinel/firewall.h"
#include "sentinel/ids.h"
#include "sentinel/parsing.h"
#include "sentinel/ringbuf.h"

#define TC_ACT_UNSPEC (-1)
#define IDS_RING_SIZE (4 << 20)
#define HEADER_PULL 192 /* bytes made linear when the headers are not */

/* Referenced so the ABI structs reach the object's BTF for the layout test. */
const volatile struct sentinel_ids_event sentinel_abi_ids_event __attribute__((used));
const volatile struct sentinel_ids_key sentinel_abi_ids_key __attribute__((used));
const volatile struct sentinel_ids_filter sentinel_abi_ids_filter __attribute__((used));
const volatile struct sentinel_ids_config sentinel_abi_ids_config __attribute__((used));
const volatile enum sentinel_ids_counter sentinel_abi_ids_counter __attribute__((used));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SENTINEL_IDS_GENERATIONS * SENTINEL_IDS_MAX_KEYS);
	__type(key, struct sentinel_ids_key);
	__type(value, struct sentinel_ids_filter);
} ids_prefilter SEC(".maps");

/* One config per generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SENTINEL_IDS_GENERATIONS);
	__type(key, __u32);
	__type(value, struct sentinel_ids_config);
} ids_config SEC(".maps");

/* The active generation: read once per packet, flipped once per reload. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sentinel_ids_switch);
} ids_switch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_IDS_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ids_metrics SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IDS_RING_SIZE);
} ids_events SEC(".maps");

/* The record is built here, then copied to the ring at its exact length. */
struct ids_record {
	struct sentinel_ids_event hdr;
	__u8 payload[SENTINEL_IDS_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ids_record);
} ids_scratch SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&ids_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline __u32 fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The same value for both directions of a flow, so sampling keeps or drops whole flows.
 * Mirrored by sentinel_adapters.ebpf.codec_payload.flow_hash. */
static __always_inline __u32 flow_hash(struct sentinel_packet *p)
{
	__u32 h = p->protocol;
#pragma unroll
	for (int i = 0; i < 4; i++)
		h = (h ^ (p->src[i] ^ p->dst[i])) * 0x9E3779B1;
	__u32 lo = p->src_port < p->dst_port ? p->src_port : p->dst_port;
	__u32 hi = p->src_port < p->dst_port ? p->dst_port : p->src_port;
	h = (h ^ ((hi << 16) | lo)) * 0x9E3779B1;
	return fmix32(h);
}

/* Fill p from xdp_firewall's metadata. Only the addresses are read from the packet; any
 * inconsistency (e.g. a VLAN tag the stack removed since XDP) makes the caller parse instead. */
static __always_inline int from_meta(struct __sk_buff *skb, struct sentinel_xdp_meta *m, void *data,
				     void *data_end, struct sentinel_packet *p)
{
	__u32 l3 = m->l3_offset;
	__be16 ethertype;
	if (l3 < 14 || l3 > 64)
		return -1;
	/* clang would index the packet with an unchecked copy of l3: hide it, then mask it */
	barrier_var(l3);
	l3 &= 0x7F;
	if (bpf_skb_load_bytes(skb, l3 - 2, &ethertype, sizeof(ethertype)))
		return -1;
	__u16 proto = bpf_ntohs(ethertype);
	if (m->meta_flags & SENTINEL_META_IPV6) {
		struct ipv6hdr *ip6 = data + l3;
		if (proto != SENTINEL_ETH_P_IPV6 || (void *)(ip6 + 1) > data_end)
			return -1;
		p->is_ipv6 = 1;
		p->flags |= SENTINEL_FLAG_IPV6;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			p->src[i] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[i]);
			p->dst[i] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[i]);
		}
	} else {
		struct iphdr *iph = data + l3;
		if (proto != SENTINEL_ETH_P_IP || (void *)(iph + 1) > data_end)
			return -1;
		p->src[0] = bpf_ntohl(iph->saddr);
		p->dst[0] = bpf_ntohl(iph->daddr);
	}
	p->protocol = m->protocol;
	p->l3_offset = l3;
	p->l4_offset = m->l4_offset;
	if (m->meta_flags & SENTINEL_META_HAS_PORTS) {
		p->has_ports = 1;
		p->src_port = m->src_port;
		p->dst_port = m->dst_port;
	}
	return 0;
}

/* Where the IP packet ends (the frame may carry Ethernet padding after it); 0 if unknown. */
static __always_inline __u32 ip_end(void *data, void *data_end, struct sentinel_packet *p)
{
	__u32 l3 = p->l3_offset;
	if (l3 > 64)
		return 0;
	barrier_var(l3);
	l3 &= 0x7F;
	if (p->is_ipv6) {
		struct ipv6hdr *ip6 = data + l3;
		if ((void *)(ip6 + 1) > data_end)
			return 0;
		return l3 + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	}
	struct iphdr *iph = data + l3;
	if ((void *)(iph + 1) > data_end)
		return 0;
	return l3 + bpf_ntohs(iph->tot_len);
}

/* Offset of the payload behind the L4 header (0: none); TCP flags on the side. */
static __always_inline __u32 payload_offset(void *data, void *data_end, struct sentinel_packet *p,
					    __u8 *tcp_flags)
{
	__u32 l4 = p->l4_offset;
	if (l4 < 34 || l4 > 512)
		return 0;
	barrier_var(l4);
	l4 &= 0x3FF;
	if (p->protocol == IPPROTO_TCP) {
		struct tcphdr *th = data + l4;
		if ((void *)(th + 1) > data_end || th->doff < 5)
			return 0;
		*tcp_flags = ((__u8 *)th)[13];
		return l4 + th->doff * 4;
	}
	if (p->protocol == IPPROTO_UDP || p->protocol == IPPROTO_ICMP || p->protocol == 58)
		return l4 + 8; /* UDP header; ICMP type, code, checksum and rest-of-header */
	return 0;
}

enum locate_result {
	LOCATED = 0,
	LOCATE_NOT_IP = 1,
	LOCATE_ERROR = 2,
	LOCATE_NO_L4 = 3,
};

/* Everything inspect() needs to know about the packet's layout. */
struct ids_location {
	struct sentinel_packet p;
	__u32 payload_off; /* first payload byte, from the start of the frame */
	__u32 ip_end;      /* end of the IP packet; 0 if unknown */
	__u8 tcp_flags;
	__u8 used_meta;
	__u8 _pad[2];
};

/* Find the packet's headers, from xdp_firewall's metadata when it is usable, else by parsing,
 * and where its payload starts; reads linear data only. A global (not inlined) function: the
 * verifier checks it once, and the many parse paths do not multiply the rest of the program. */
__noinline int sentinel_ids_locate(struct __sk_buff *skb, struct sentinel_xdp_meta *meta,
				   struct ids_location *loc)
{
	if (!skb || !meta || !loc)
		return LOCATE_ERROR;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct sentinel_packet *p = &loc->p;
	/* A tag the stack removed since XDP shifted the offsets: parse such packets instead. */
	int usable = (meta->meta_flags & SENTINEL_META_PRESENT) && !(meta->meta_flags & SENTINEL_META_VLAN);

	__builtin_memset(loc, 0, sizeof(*loc));
	loc->used_meta = usable && from_meta(skb, meta, data, data_end, p) == 0;
	if (!loc->used_meta) {
		__builtin_memset(p, 0, sizeof(*p));
		int parsed = sentinel_parse(data, data_end, p);
		if (parsed == SENTINEL_PARSE_NOT_IP)
			return LOCATE_NOT_IP;
		if (parsed != SENTINEL_PARSE_OK)
			return LOCATE_ERROR;
	}
	loc->payload_off = payload_offset(data, data_end, p, &loc->tcp_flags);
	loc->ip_end = ip_end(data, data_end, p);
	return loc->payload_off ? LOCATED : LOCATE_NO_L4;
}

static __always_inline struct sentinel_ids_filter *prefilter(struct sentinel_packet *p, __u8 *how, __u32 gen)
{
	struct sentinel_ids_key key = {.port = SENTINEL_IDS_ANY_PORT, .protocol = p->protocol, .gen = gen};
	struct sentinel_ids_filter *f = bpf_map_lookup_elem(&ids_prefilter, &key);
	if (f) {
		*how = SENTINEL_IDS_F_MATCH_PROTO;
		return f;
	}
	if (!p->has_ports)
		return NULL;
	key.port = p->dst_port;
	f = bpf_map_lookup_elem(&ids_prefilter, &key);
	if (f) {
		*how = SENTINEL_IDS_F_MATCH_DST;
		return f;
	}
	key.port = p->src_port;
	f = bpf_map_lookup_elem(&ids_prefilter, &key);
	if (f)
		*how = SENTINEL_IDS_F_MATCH_SRC;
	return f;
}

static __always_inline int inspect(struct __sk_buff *skb, __u8 direction)
{
	struct sentinel_xdp_meta meta = {};
	__u8 flags = 0;
	__u32 zero = 0;

	count(SENTINEL_IDS_SEEN);
	/* Copy the metadata first: pulling data below may move the head it lives in. */
	if (direction == SENTINEL_IDS_INGRESS) {
		struct sentinel_xdp_meta *m = (void *)(long)skb->data_meta;
		if ((void *)(m + 1) <= (void *)(long)skb->data)
			meta = *m;
	}
	struct ids_location loc = {};
	int where = sentinel_ids_locate(skb, &meta, &loc);
	__u32 linear = skb->data_end - skb->data;
	if ((where == LOCATE_ERROR || where == LOCATE_NO_L4) && linear < skb->len) {
		/* Headers partly outside the linear data (e.g. GRO frags): pull them in, look again. */
		bpf_skb_pull_data(skb, skb->len < HEADER_PULL ? skb->len : HEADER_PULL);
		/* Keeps clang from reusing ctx field addresses across the call (the verifier refuses them). */
		barrier_var(skb);
		where = sentinel_ids_locate(skb, &meta, &loc);
	}
	if (where == LOCATE_NOT_IP) {
		count(SENTINEL_IDS_NOT_IP);
		return TC_ACT_UNSPEC;
	}
	if (where == LOCATE_ERROR) {
		count(SENTINEL_IDS_ERRORS);
		return TC_ACT_UNSPEC;
	}
	if (where != LOCATED) {
		count(SENTINEL_IDS_NO_L4);
		return TC_ACT_UNSPEC;
	}
	struct sentinel_packet p = loc.p;
	__u32 payload_off = loc.payload_off;
	if (loc.used_meta) {
		flags |= SENTINEL_IDS_F_XDP_META;
		count(SENTINEL_IDS_META_USED);
	}
	/* The stack moved the outer tag out of the packet; an in-band (inner) tag still wins. */
	if (!p.vlan_id && skb->vlan_present)
		p.vlan_id = skb->vlan_tci & 0x0FFF;
	if (p.vlan_id || (p.flags & SENTINEL_FLAG_VLAN))
		flags |= SENTINEL_IDS_F_VLAN;
	if (p.is_ipv6)
		flags |= SENTINEL_IDS_F_IPV6;

	/* One read of the switch: the key set and the config below are one generation's. */
	struct sentinel_ids_switch *sw = bpf_map_lookup_elem(&ids_switch, &zero);
	__u32 gen = sw ? (sw->active & 1) : 0;
	__u8 how = 0;
	struct sentinel_ids_filter *filter = prefilter(&p, &how, gen);
	if (!filter) {
		count(SENTINEL_IDS_NOT_MATCHED);
		return TC_ACT_UNSPEC;
	}
	count(SENTINEL_IDS_MATCHED);
	flags |= how;

	struct sentinel_ids_config *cfg = bpf_map_lookup_elem(&ids_config, &gen);
	__u32 end = loc.ip_end;
	if (!end || end > skb->len)
		end = skb->len; /* GSO packets and truncated captures: trust the skb */
	__u32 payload_len = end > payload_off ? end - payload_off : 0;
	if (!payload_len && !(cfg && (cfg->flags & SENTINEL_IDS_CFG_EMPTY_PAYLOADS))) {
		count(SENTINEL_IDS_EMPTY);
		return TC_ACT_UNSPEC;
	}
	__u32 hash = flow_hash(&p);
	__u32 every = filter->sample_every ? filter->sample_every : (cfg ? cfg->sample_every : 0);
	if (every > 1 && hash % every) {
		count(SENTINEL_IDS_SAMPLED_OUT);
		return TC_ACT_UNSPEC;
	}
	count(SENTINEL_IDS_INSPECTED);

	/* Above 75 % the event is skipped, counted; the packet is never affected. */
	if (!sentinel_ring_has_room(&ids_events, IDS_RING_SIZE)) {
		count(SENTINEL_IDS_EVENTS_SKIPPED);
		count(SENTINEL_IDS_EVENTS_DROPPED);
		return TC_ACT_UNSPEC;
	}
	struct ids_record *rec = bpf_map_lookup_elem(&ids_scratch, &zero);
	if (!rec) {
		count(SENTINEL_IDS_CAPTURE_FAILED);
		count(SENTINEL_IDS_EVENTS_DROPPED);
		return TC_ACT_UNSPEC;
	}
	__u32 cap = filter->capture_len ? filter->capture_len : (cfg ? cfg->capture_len : 0);
	if (!cap)
		cap = SENTINEL_IDS_CAPTURE_DEFAULT;
	/* Clamp in 64 bits: clang 14 otherwise hands the helper an unbounded register. */
	__u64 n = payload_len;
	if (n > cap)
		n = cap;
	if (n > SENTINEL_IDS_CAPTURE_MAX)
		n = SENTINEL_IDS_CAPTURE_MAX;
	barrier_var(n);
	if (n > 0 && n <= SENTINEL_IDS_CAPTURE_MAX) {
		if (bpf_skb_load_bytes(skb, payload_off, rec->payload, n)) {
			count(SENTINEL_IDS_CAPTURE_FAILED);
			count(SENTINEL_IDS_EVENTS_DROPPED);
			return TC_ACT_UNSPEC;
		}
	}
	if (n < payload_len) {
		flags |= SENTINEL_IDS_F_TRUNCATED;
		count(SENTINEL_IDS_TRUNCATED);
	}
	struct sentinel_ids_event *e = &rec->hdr;
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(e->src_addr, p.src, sizeof(e->src_addr));
	__builtin_memcpy(e->dst_addr, p.dst, sizeof(e->dst_addr));
	e->src_port = p.src_port;
	e->dst_port = p.dst_port;
	e->protocol = p.protocol;
	e->direction = direction;
	e->flags = flags;
	e->tcp_flags = loc.tcp_flags;
	e->ifindex = skb->ifindex;
	e->payload_len = payload_len;
	e->flow_hash = hash;
	e->captured_len = n;
	e->vlan_id = p.vlan_id;
	if (bpf_ringbuf_output(&ids_events, rec, sizeof(struct sentinel_ids_event) + n, 0)) {
		count(SENTINEL_IDS_RESERVE_FAILED);
		count(SENTINEL_IDS_EVENTS_DROPPED);
		return TC_ACT_UNSPEC;
	}
	count(SENTINEL_IDS_EVENTS_EMITTED);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_ids_ingress(struct __sk_buff *skb)
{
	return inspect(skb, SENTINEL_IDS_INGRESS);
}

SEC("tc")
int tc_ids_egress(struct __sk_buff *skb)
{
	return inspect(skb, SENTINEL_IDS_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* tc_dns (TC ingress and egress): passive capture of DNS over UDP and TCP port 53. Queries
 * (destination 53) and responses (source 53) are copied, without the TCP length prefix, into a
 * record of the smallest payload tier that holds them, capped at SENTINEL_DNS_MAX_CAPTURE with
 * the original length kept. Never drops: every path returns TC_ACT_UNSPEC.
 *
 * TCP is read segment by segment without state: a segment carrying a length prefix starts a
 * message; continuation segments of a message longer than one segment are not messages of
 * their own and are counted (not_a_message) when their first bytes cannot be a prefix. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sentinel/events.h"
#include "sentinel/firewall.h"
#include "sentinel/parsing.h"
#include "sentinel/ringbuf.h"
#include "sentinel/threatintel.h" /* sentinel_tc_packet(): the shared TC locator */
#include "sentinel/dns.h"

#define TC_ACT_UNSPEC (-1)
#define DNS_RING_SIZE (256 * 1024)

/* Referenced so the ABI structs reach the object's BTF for the layout test. */
const volatile struct sentinel_dns_event sentinel_abi_dns_event __attribute__((used));
const volatile struct sentinel_dns_record_small sentinel_abi_dns_small __attribute__((used));
const volatile struct sentinel_dns_record_medium sentinel_abi_dns_medium __attribute__((used));
const volatile struct sentinel_dns_record_large sentinel_abi_dns_large __attribute__((used));
const volatile enum sentinel_dns_limit sentinel_abi_dns_limit __attribute__((used));
const volatile enum sentinel_dns_direction sentinel_abi_dns_direction __attribute__((used));
const volatile enum sentinel_dns_hook sentinel_abi_dns_hook __attribute__((used));
const volatile enum sentinel_dns_flag sentinel_abi_dns_flag __attribute__((used));
const volatile enum sentinel_dns_counter sentinel_abi_dns_counter __attribute__((used));
const volatile enum sentinel_event_flag sentinel_abi_event_flag __attribute__((used));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DNS_RING_SIZE);
} dns_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SENTINEL_DNS_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} dns_metrics SEC(".maps");

/* Where the DNS message is in this packet. */
struct dns_message {
	__u32 offset;    /* from the start of the frame */
	__u32 available; /* bytes of the message present in this packet */
	__u32 length;    /* the whole message */
	__u8 direction;
	__u8 flags;
};

static __always_inline void count(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&dns_metrics, &slot);
	if (value)
		*value += 1;
}

static __always_inline int load_be16(struct __sk_buff *skb, __u32 offset, __u32 *out)
{
	__be16 v;
	if (bpf_skb_load_bytes(skb, offset, &v, sizeof(v)))
		return -1;
	*out = bpf_ntohs(v);
	return 0;
}

/* 1: a DNS message (filled in *m); 0: not DNS, or a TCP segment without a message start;
 * -1: malformed lengths. */
static __always_inline int locate_message(struct __sk_buff *skb, struct sentinel_packet *p,
					  struct dns_message *m)
{
	if (!p->has_ports || (p->protocol != IPPROTO_UDP && p->protocol != IPPROTO_TCP))
		return 0;
	if (p->dst_port == SENTINEL_DNS_PORT)
		m->direction = SENTINEL_DNS_QUERY;
	else if (p->src_port == SENTINEL_DNS_PORT)
		m->direction = SENTINEL_DNS_RESPONSE;
	else
		return 0;

	/* The IP length, not skb->len: Ethernet pads short frames (a bare ACK) with zeros. */
	__u32 l3 = p->l3_offset, l4 = p->l4_offset, ip_len, ip_end;
	if (p->is_ipv6) {
		if (load_be16(skb, l3 + 4, &ip_len))
			return -1;
		ip_end = l3 + 40 + ip_len;
	} else {
		if (load_be16(skb, l3 + 2, &ip_len))
			return -1;
		ip_end = l3 + ip_len;
	}
	if (ip_end > skb->len)
		return -1;

	if (p->protocol == IPPROTO_UDP) {
		__u32 udp_len;
		if (load_be16(skb, l4 + 4, &udp_len) || udp_len < 8 || l4 + udp_len > ip_end)
			return -1;
		m->offset = l4 + 8;
		m->length = udp_len - 8;
		m->available = m->length;
		return m->length > 0;
	}

	/* TCP: the message follows the header and its 2-byte length prefix (RFC 1035 §4.2.2). */
	__u8 doff;
	if (bpf_skb_load_bytes(skb, l4 + 12, &doff, 1))
		return -1;
	__u32 seg = l4 + (doff >> 4) * 4;
	if ((doff >> 4) < 5 || seg > ip_end)
		return -1;
	if (seg == ip_end)
		return 0; /* SYN, FIN, bare ACK: no payload at all */
	__u32 prefix;
	if (seg + 2 > ip_end || load_be16(skb, seg, &prefix) || prefix < SENTINEL_DNS_MIN_TCP_MESSAGE) {
		count(SENTINEL_DNS_NOT_A_MESSAGE);
		return 0;
	}
	m->offset = seg + 2;
	m->length = prefix;
	m->available = ip_end - m->offset < prefix ? ip_end - m->offset : prefix;
	m->flags = SENTINEL_FLAG_TCP;
	return 1;
}

static __always_inline void fill_header(struct sentinel_dns_event *h, struct __sk_buff *skb,
					struct sentinel_packet *p, struct dns_message *m, __u8 hook, __u32 captured)
{
	h->timestamp_ns = bpf_ktime_get_boot_ns();
	__builtin_memcpy(h->src_addr, p->src, sizeof(h->src_addr));
	__builtin_memcpy(h->dst_addr, p->dst, sizeof(h->dst_addr));
	h->src_port = p->src_port;
	h->dst_port = p->dst_port;
	h->message_len = m->length;
	h->captured_len = captured;
	h->direction = m->direction;
	h->flags = p->flags | m->flags | (captured < m->length ? SENTINEL_DNS_FLAG_TRUNCATED : 0);
	h->vlan_id = p->vlan_id;
	h->ifindex = skb->ifindex;
	h->hook = hook;
	__builtin_memset(h->_pad, 0, sizeof(h->_pad));
}

/* One emitter per payload tier: reserve the tier's record, copy with a length the verifier can
 * bound (clamped in 64 bits, then hidden from clang so it cannot reuse the unclamped value). */
#define DNS_EMIT_TIER(name, record, cap)                                                            \
	static __always_inline void name(struct __sk_buff *skb, struct sentinel_packet *p,         \
					 struct dns_message *m, __u8 hook)                         \
	{                                                                                           \
		struct record *r = bpf_ringbuf_reserve(&dns_events, sizeof(*r), 0);                \
		if (!r) {                                                                           \
			count(SENTINEL_DNS_RESERVE_FAILED);                                         \
			count(SENTINEL_DNS_EVENTS_DROPPED);                                         \
			return;                                                                     \
		}                                                                                   \
		__u64 n = m->available;                                                             \
		if (n > (cap))                                                                      \
			n = (cap);                                                                  \
		barrier_var(n);                                                                     \
		if (n == 0 || n > (cap) || bpf_skb_load_bytes(skb, m->offset, r->payload, n)) {     \
			bpf_ringbuf_discard(r, 0);                                                  \
			count(SENTINEL_DNS_COPY_FAILED);                                            \
			count(SENTINEL_DNS_EVENTS_DROPPED);                                         \
			return;                                                                     \
		}                                                                                   \
		fill_header(&r->header, skb, p, m, hook, (__u32)n);                                 \
		bpf_ringbuf_submit(r, 0);                                                           \
		count(SENTINEL_DNS_EVENTS_EMITTED);                                                 \
		if (n < m->length)                                                                  \
			count(SENTINEL_DNS_TRUNCATED);                                              \
	}

DNS_EMIT_TIER(emit_small, sentinel_dns_record_small, SENTINEL_DNS_TIER_SMALL)
DNS_EMIT_TIER(emit_medium, sentinel_dns_record_medium, SENTINEL_DNS_TIER_MEDIUM)
DNS_EMIT_TIER(emit_large, sentinel_dns_record_large, SENTINEL_DNS_MAX_CAPTURE)

static __always_inline int capture(struct __sk_buff *skb, __u8 hook)
{
	struct sentinel_packet p = {};
	struct dns_message m = {};
	int with_meta;

	count(SENTINEL_DNS_SEEN);
	int parsed = sentinel_tc_packet(skb, &p, &with_meta);
	if (parsed == SENTINEL_PARSE_NOT_IP)
		return TC_ACT_UNSPEC;
	if (parsed != SENTINEL_PARSE_OK) {
		count(SENTINEL_DNS_ERRORS);
		return TC_ACT_UNSPEC;
	}
	int found = locate_message(skb, &p, &m);
	if (found < 0)
		count(SENTINEL_DNS_ERRORS);
	if (found <= 0)
		return TC_ACT_UNSPEC;

	count(SENTINEL_DNS_INSPECTED);
	if (with_meta)
		count(SENTINEL_DNS_WITH_META);
	/* Backpressure first: above 75 % the record is skipped before anything is reserved. */
	if (!sentinel_ring_has_room(&dns_events, DNS_RING_SIZE)) {
		count(SENTINEL_DNS_EVENTS_SKIPPED);
		count(SENTINEL_DNS_EVENTS_DROPPED);
		return TC_ACT_UNSPEC;
	}
	if (m.available <= SENTINEL_DNS_TIER_SMALL)
		emit_small(skb, &p, &m, hook);
	else if (m.available <= SENTINEL_DNS_TIER_MEDIUM)
		emit_medium(skb, &p, &m, hook);
	else
		emit_large(skb, &p, &m, hook);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_dns_ingress(struct __sk_buff *skb)
{
	return capture(skb, SENTINEL_DNS_INGRESS);
}

SEC("tc")
int tc_dns_egress(struct __sk_buff *skb)
{
	return capture(skb, SENTINEL_DNS_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

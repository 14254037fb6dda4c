/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* tc_threatintel map ABI (contract §6.4). An IOC set is one generation: a bloom filter and an
 * exact hash per family. The program reads the generation selected by sentinel_ti_config, so
 * userspace builds a whole new set aside and switches to it with one write (docs/kernel.md). */
#ifndef SENTINEL_THREATINTEL_H
#define SENTINEL_THREATINTEL_H

enum sentinel_ti_limit {
	SENTINEL_TI_MAX_IOCS = 1048576, /* per family and generation */
	SENTINEL_TI_BLOOM_HASHES = 3,
	SENTINEL_TI_GENERATIONS = 2,
};

/* What a confirmed hit does (value.action). */
enum sentinel_ti_action {
	SENTINEL_TI_ALERT = 0,
	SENTINEL_TI_DROP = 1,
};

/* PacketEvent.flags bits of threat-intel events, beside SENTINEL_FLAG_IPV6/VLAN. */
enum sentinel_ti_flag {
	SENTINEL_TI_FLAG_BY_DST = 0x08,  /* the destination's entry decided (else the source's) */
	SENTINEL_TI_FLAG_SRC_HIT = 0x40, /* the source address is an IOC */
	SENTINEL_TI_FLAG_DST_HIT = 0x80, /* the destination address is an IOC */
};

/* Keys are the address's wire bytes; the bloom filters hold the same bytes as values. */
struct sentinel_ti_key_v4 {
	__u8 addr[4];
};
_Static_assert(sizeof(struct sentinel_ti_key_v4) == 4, "ti v4 key size");

struct sentinel_ti_key_v6 {
	__u8 addr[16];
};
_Static_assert(sizeof(struct sentinel_ti_key_v6) == 16, "ti v6 key size");

struct sentinel_ti_value {
	__u16 feed_id;     /* index into userspace's feed table; reported as PacketEvent.rule_id */
	__u8 action;       /* enum sentinel_ti_action */
	__u8 confidence;   /* 0-100 */
	__u8 threat_type;  /* 0 other, 1 malware, 2 c2, 3 scanner, 4 spam */
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sentinel_ti_value) == 8, "ti value size");

struct sentinel_ti_config {
	__u32 generation; /* which IOC set packets use: 0 or 1 */
	__u8 enabled;     /* 0: every packet passes untouched (only "seen" counts) */
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sentinel_ti_config) == 8, "ti config size");

/* Per-CPU counter slots (0-4 as in the contract's THREATINTEL_METRICS). */
enum sentinel_ti_counter {
	SENTINEL_TI_MATCHED = 0,         /* packets with a confirmed hit */
	SENTINEL_TI_DROPPED = 1,
	SENTINEL_TI_ERRORS = 2,          /* unparseable packets, missing maps */
	SENTINEL_TI_EVENTS_DROPPED = 3,  /* skipped (backpressure) + reserve failures */
	SENTINEL_TI_SEEN = 4,
	SENTINEL_TI_EVENTS_EMITTED = 5,
	SENTINEL_TI_EVENTS_SKIPPED = 6,  /* ring above 75 %: not even reserved */
	SENTINEL_TI_RESERVE_FAILED = 7,
	SENTINEL_TI_BLOOM_FALSE_POSITIVES = 8, /* bloom said maybe, the hash said no */
	SENTINEL_TI_WITH_META = 9,       /* addresses found through xdp_firewall's metadata */
	SENTINEL_TI_COUNTER_SLOTS = 16,
};

/* BPF only, shared by the TC programs (tc_threatintel, tc_dns): where a packet's addresses and
 * ports are. Include after events.h, firewall.h and parsing.h. xdp_firewall's metadata saves
 * the parse when it sits before the data of an untagged frame (the stack moves a VLAN tag out
 * of the frame before TC, so a tagged frame's offsets are stale: those re-parse).
 * Returns enum sentinel_parse_result; *with_meta says which path was taken. */
static __always_inline int sentinel_tc_from_meta(struct __sk_buff *skb, const struct sentinel_xdp_meta *m,
						 struct sentinel_packet *p)
{
	p->protocol = m->protocol;
	p->l3_offset = m->l3_offset;
	p->l4_offset = m->l4_offset;
	if (m->meta_flags & SENTINEL_META_HAS_PORTS) {
		p->has_ports = 1;
		p->src_port = m->src_port;
		p->dst_port = m->dst_port;
	}
	if (m->meta_flags & SENTINEL_META_IPV6) {
		__u32 a[8];
		if (bpf_skb_load_bytes(skb, m->l3_offset + 8, a, sizeof(a)))
			return SENTINEL_PARSE_ERROR;
		p->is_ipv6 = 1;
		p->flags |= SENTINEL_FLAG_IPV6;
		__builtin_memcpy(p->src_key, &a[0], 16);
		__builtin_memcpy(p->dst_key, &a[4], 16);
#pragma unroll
		for (int i = 0; i < 4; i++) {
			p->src[i] = bpf_ntohl(a[i]);
			p->dst[i] = bpf_ntohl(a[4 + i]);
		}
		return SENTINEL_PARSE_OK;
	}
	__u32 a[2];
	if (bpf_skb_load_bytes(skb, m->l3_offset + 12, a, sizeof(a)))
		return SENTINEL_PARSE_ERROR;
	__builtin_memcpy(p->src_key, &a[0], 4);
	__builtin_memcpy(p->dst_key, &a[1], 4);
	p->src[0] = bpf_ntohl(a[0]);
	p->dst[0] = bpf_ntohl(a[1]);
	return SENTINEL_PARSE_OK;
}

/* IPv4 with paged payload (GRO, page-fragment receive, GSO on egress): sentinel_parse wants the
 * whole datagram in the linear part, so read the headers with bpf_skb_load_bytes instead of
 * linearizing 64 KiB. One in-band VLAN tag (the stack took any outer one) is understood. */
static __always_inline int sentinel_tc_ipv4_paged(struct __sk_buff *skb, struct sentinel_packet *p)
{
	__u32 l3 = 14;
	__u16 hdr[3]; /* ethertype, then TCI and inner ethertype when tagged */
	if (bpf_skb_load_bytes(skb, 12, hdr, sizeof(hdr)))
		return SENTINEL_PARSE_ERROR;
	__u16 proto = bpf_ntohs(hdr[0]);
	if (proto == SENTINEL_ETH_P_8021Q || proto == SENTINEL_ETH_P_8021AD) {
		p->vlan_id = bpf_ntohs(hdr[1]) & 0x0FFF;
		p->flags |= SENTINEL_FLAG_VLAN;
		proto = bpf_ntohs(hdr[2]);
		l3 = 18;
	}
	struct iphdr iph;
	if (proto != SENTINEL_ETH_P_IP || bpf_skb_load_bytes(skb, l3, &iph, sizeof(iph)))
		return SENTINEL_PARSE_ERROR;
	__u32 hlen = iph.ihl * 4, total = bpf_ntohs(iph.tot_len);
	if (iph.version != 4 || iph.ihl < 5 || total < hlen || l3 + total > skb->len)
		return SENTINEL_PARSE_ERROR;
	p->l3_offset = l3;
	p->protocol = iph.protocol;
	__builtin_memcpy(p->src_key, &iph.saddr, 4);
	__builtin_memcpy(p->dst_key, &iph.daddr, 4);
	p->src[0] = bpf_ntohl(iph.saddr);
	p->dst[0] = bpf_ntohl(iph.daddr);
	if (bpf_ntohs(iph.frag_off) & 0x1FFF)
		return SENTINEL_PARSE_OK; /* a non-first fragment has no ports */
	__u32 l4 = l3 + hlen;
	p->l4_offset = l4;
	if (iph.protocol == IPPROTO_TCP || iph.protocol == IPPROTO_UDP) {
		__u16 ports[2];
		__u8 doff = 5 << 4;
		if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
			return SENTINEL_PARSE_ERROR;
		if (iph.protocol == IPPROTO_TCP &&
		    (bpf_skb_load_bytes(skb, l4 + 12, &doff, 1) || (doff >> 4) < 5 || l4 + (doff >> 4) * 4 > l3 + total))
			return SENTINEL_PARSE_ERROR;
		p->src_port = bpf_ntohs(ports[0]);
		p->dst_port = bpf_ntohs(ports[1]);
		p->has_ports = 1;
	} else if (iph.protocol == IPPROTO_ICMP) {
		__u8 tc[2];
		if (bpf_skb_load_bytes(skb, l4, tc, sizeof(tc)))
			return SENTINEL_PARSE_ERROR;
		p->icmp_type = tc[0];
		p->icmp_code = tc[1];
	}
	return SENTINEL_PARSE_OK;
}

static __always_inline int sentinel_tc_packet(struct __sk_buff *skb, struct sentinel_packet *p,
					      int *with_meta)
{
	void *data = (void *)(long)skb->data;
	struct sentinel_xdp_meta *m = (void *)(long)skb->data_meta;

	*with_meta = 0;
	if ((void *)(m + 1) <= data && (m->meta_flags & SENTINEL_META_PRESENT) &&
	    !(m->meta_flags & SENTINEL_META_VLAN) && m->l3_offset == 14) {
		*with_meta = 1;
		return sentinel_tc_from_meta(skb, m, p);
	}
	int rc = sentinel_parse(data, (void *)(long)skb->data_end, p);
	if (rc == SENTINEL_PARSE_ERROR) {
		/* sentinel_parse reads the linear part only. Bring the headers into it (IPv6 then
		 * parses) and read paged IPv4 with loads; a real parse error fails every way. */
		__u32 len = skb->len;
		bpf_skb_pull_data(skb, len < 256 ? len : 256);
		__builtin_memset(p, 0, sizeof(*p));
		rc = sentinel_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p);
		if (rc == SENTINEL_PARSE_ERROR) {
			__builtin_memset(p, 0, sizeof(*p));
			rc = sentinel_tc_ipv4_paged(skb, p);
		}
	}
	/* The stack strips the outer tag into the skb before TC; the frame keeps any inner one. */
	if (rc == SENTINEL_PARSE_OK && !(p->flags & SENTINEL_FLAG_VLAN) && skb->vlan_present) {
		p->vlan_id = skb->vlan_tci & 0x0FFF;
		p->flags |= SENTINEL_FLAG_VLAN;
	}
	return rc;
}

#endif

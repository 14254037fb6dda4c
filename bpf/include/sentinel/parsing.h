/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* BPF-only packet parsing: Ethernet, up to two VLAN tags, IPv4 (IHL), IPv6 with a bounded
 * extension-header walk (RFC 8200 §4), TCP/UDP ports, ICMP type/code. Every read is
 * bounds-checked against data_end first. */
#ifndef SENTINEL_PARSING_H
#define SENTINEL_PARSING_H

#define SENTINEL_ETH_P_IP 0x0800
#define SENTINEL_ETH_P_IPV6 0x86DD
#define SENTINEL_ETH_P_8021Q 0x8100
#define SENTINEL_ETH_P_8021AD 0x88A8
#define SENTINEL_IPV6_MAX_EXT 6

enum sentinel_parse_result {
	SENTINEL_PARSE_OK = 0,
	SENTINEL_PARSE_ERROR = -1,  /* malformed or truncated: counted, default policy */
	SENTINEL_PARSE_NOT_IP = 1,  /* ARP, LLDP, ...: passed untouched */
};

struct sentinel_packet {
	__u32 src[4];        /* contract word form (host-order value of wire words) */
	__u32 dst[4];
	__u8 src_key[16];    /* wire bytes, for LPM keys */
	__u8 dst_key[16];
	__u16 src_port;
	__u16 dst_port;
	__u16 vlan_id;
	__u8 protocol;
	__u8 flags;          /* SENTINEL_FLAG_IPV6 | SENTINEL_FLAG_VLAN */
	__u8 has_ports;      /* 0 for ICMP and non-first fragments */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 is_ipv6;
	__u16 l3_offset;     /* from the start of the frame */
	__u16 l4_offset;     /* 0 when there is no L4 header (non-first fragment, unknown) */
};

static __always_inline int sentinel_parse_l4(void *data, void *l4, void *data_end, struct sentinel_packet *p)
{
	p->l4_offset = (__u16)(l4 - data);
	if (p->protocol == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end || th->doff < 5)
			return SENTINEL_PARSE_ERROR;
		if (l4 + th->doff * 4 > data_end)
			return SENTINEL_PARSE_ERROR;
		p->src_port = bpf_ntohs(th->source);
		p->dst_port = bpf_ntohs(th->dest);
		p->has_ports = 1;
	} else if (p->protocol == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return SENTINEL_PARSE_ERROR;
		p->src_port = bpf_ntohs(uh->source);
		p->dst_port = bpf_ntohs(uh->dest);
		p->has_ports = 1;
	} else if (p->protocol == IPPROTO_ICMP || p->protocol == 58 /* ICMPv6 */) {
		__u8 *icmp = l4;
		if ((void *)(icmp + 2) > data_end)
			return SENTINEL_PARSE_ERROR;
		p->icmp_type = icmp[0];
		p->icmp_code = icmp[1];
	}
	return SENTINEL_PARSE_OK;
}

static __always_inline int sentinel_parse_ipv4(void *data, void *l3, void *data_end, struct sentinel_packet *p)
{
	p->l3_offset = (__u16)(l3 - data);
	struct iphdr *iph = l3;
	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return SENTINEL_PARSE_ERROR;
	__u32 hlen = iph->ihl * 4;
	__u16 total = bpf_ntohs(iph->tot_len);
	if (l3 + hlen > data_end || total < hlen || l3 + total > data_end)
		return SENTINEL_PARSE_ERROR;
	p->protocol = iph->protocol;
	__builtin_memcpy(p->src_key, &iph->saddr, 4);
	__builtin_memcpy(p->dst_key, &iph->daddr, 4);
	p->src[0] = bpf_ntohl(iph->saddr);
	p->dst[0] = bpf_ntohl(iph->daddr);
	/* A non-first fragment carries no L4 header, so it has no ports (docs/kernel.md). */
	if (bpf_ntohs(iph->frag_off) & 0x1FFF)
		return SENTINEL_PARSE_OK;
	return sentinel_parse_l4(data, l3 + hlen, data_end, p);
}

static __always_inline int sentinel_parse_ipv6(void *data, void *l3, void *data_end, struct sentinel_packet *p)
{
	p->l3_offset = (__u16)(l3 - data);
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return SENTINEL_PARSE_ERROR;
	/* Like IPv4's total length: a payload longer than the frame is a lie (0 = jumbogram, RFC
	 * 2675, whose real length is in a hop-by-hop option: not checked). */
	__u16 payload = bpf_ntohs(ip6->payload_len);
	if (payload && (void *)(ip6 + 1) + payload > data_end)
		return SENTINEL_PARSE_ERROR;
	p->is_ipv6 = 1;
	p->flags |= SENTINEL_FLAG_IPV6;
	__builtin_memcpy(p->src_key, &ip6->saddr, 16);
	__builtin_memcpy(p->dst_key, &ip6->daddr, 16);
#pragma unroll
	for (int i = 0; i < 4; i++) {
		p->src[i] = bpf_ntohl(ip6->saddr.in6_u.u6_addr32[i]);
		p->dst[i] = bpf_ntohl(ip6->daddr.in6_u.u6_addr32[i]);
	}
	__u8 next = ip6->nexthdr;
	void *cursor = ip6 + 1;
	int fragmented = 0;
	/* RFC 8200 §4: walk extension headers; each names the next. Bounded for the verifier. */
	for (int i = 0; i < SENTINEL_IPV6_MAX_EXT; i++) {
		__u8 *ext = cursor;
		if (next != 0 && next != 43 && next != 44 && next != 51 && next != 60)
			goto l4;
		if ((void *)(ext + 8) > data_end)
			return SENTINEL_PARSE_ERROR;
		__u32 len;
		if (next == 44) { /* Fragment header: fixed 8 bytes; offset in the upper 13 bits */
			len = 8;
			if (((ext[2] << 8) | ext[3]) & 0xFFF8)
				fragmented = 1;
		} else if (next == 51) { /* AH: payload length in 4-octet units, minus 2 */
			len = ((__u32)ext[1] + 2) * 4;
		} else { /* hop-by-hop, routing, destination options: 8-octet units, minus 1 */
			len = ((__u32)ext[1] + 1) * 8;
		}
		next = ext[0];
		cursor += len;
	}
	/* The chain is longer than we walk: cannot find the L4 header. */
	if (next == 0 || next == 43 || next == 44 || next == 51 || next == 60)
		return SENTINEL_PARSE_ERROR;
l4:
	p->protocol = next;
	if (fragmented)
		return SENTINEL_PARSE_OK;
	if (cursor > data_end)
		return SENTINEL_PARSE_ERROR;
	return sentinel_parse_l4(data, cursor, data_end, p);
}

static __always_inline int sentinel_parse(void *data, void *data_end, struct sentinel_packet *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return SENTINEL_PARSE_ERROR;
	__u16 proto = bpf_ntohs(eth->h_proto);
	void *cursor = eth + 1;
	/* Up to two tags (802.1ad outer + 802.1Q inner); the inner VID wins (contract §6.0). */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != SENTINEL_ETH_P_8021Q && proto != SENTINEL_ETH_P_8021AD)
			break;
		__u8 *tag = cursor;
		if ((void *)(tag + 4) > data_end)
			return SENTINEL_PARSE_ERROR;
		p->vlan_id = ((tag[0] << 8) | tag[1]) & 0x0FFF;
		p->flags |= SENTINEL_FLAG_VLAN;
		proto = (tag[2] << 8) | tag[3];
		cursor += 4;
	}
	if (proto == SENTINEL_ETH_P_8021Q || proto == SENTINEL_ETH_P_8021AD)
		return SENTINEL_PARSE_ERROR; /* a third tag: deeper than we parse */
	if (proto == SENTINEL_ETH_P_IP)
		return sentinel_parse_ipv4(data, cursor, data_end, p);
	if (proto == SENTINEL_ETH_P_IPV6)
		return sentinel_parse_ipv6(data, cursor, data_end, p);
	return SENTINEL_PARSE_NOT_IP;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* tc_dns record ABI (contract §6.5, with our own header). A record is the 64-byte header
 * followed by the DNS message (without the TCP length prefix) in one of three payload tiers;
 * payload bytes past captured_len are undefined. */
#ifndef SENTINEL_DNS_H
#define SENTINEL_DNS_H

enum sentinel_dns_limit {
	SENTINEL_DNS_PORT = 53,
	SENTINEL_DNS_TIER_SMALL = 128,
	SENTINEL_DNS_TIER_MEDIUM = 512,
	SENTINEL_DNS_MAX_CAPTURE = 1232, /* the EDNS(0) payload size DNS Flag Day 2020 settled on */
	SENTINEL_DNS_MIN_TCP_MESSAGE = 12, /* a length prefix below one DNS header: not a message start */
};

enum sentinel_dns_direction {
	SENTINEL_DNS_QUERY = 0,    /* destination port 53 */
	SENTINEL_DNS_RESPONSE = 1, /* source port 53 */
};

enum sentinel_dns_hook {
	SENTINEL_DNS_INGRESS = 0,
	SENTINEL_DNS_EGRESS = 1,
};

/* flags: SENTINEL_FLAG_IPV6 / _VLAN / _TCP (events.h) and: */
enum sentinel_dns_flag {
	SENTINEL_DNS_FLAG_TRUNCATED = 0x08, /* captured_len < message_len */
};

struct sentinel_dns_event {
	__u64 timestamp_ns; /* bpf_ktime_get_boot_ns() */
	__u32 src_addr[4];  /* contract word form, IPv4 = [v4, 0, 0, 0] */
	__u32 dst_addr[4];
	__u16 src_port;     /* host order */
	__u16 dst_port;
	__u16 message_len;  /* the whole DNS message: UDP payload, or the TCP length prefix */
	__u16 captured_len; /* bytes of it that follow the header */
	__u8 direction;     /* enum sentinel_dns_direction */
	__u8 flags;
	__u16 vlan_id;
	__u32 ifindex;
	__u8 hook;          /* enum sentinel_dns_hook */
	__u8 _pad[7];
};
_Static_assert(sizeof(struct sentinel_dns_event) == 64, "DnsEvent header must be 64 bytes");

struct sentinel_dns_record_small {
	struct sentinel_dns_event header;
	__u8 payload[SENTINEL_DNS_TIER_SMALL];
};
_Static_assert(sizeof(struct sentinel_dns_record_small) == 192, "small record size");

struct sentinel_dns_record_medium {
	struct sentinel_dns_event header;
	__u8 payload[SENTINEL_DNS_TIER_MEDIUM];
};
_Static_assert(sizeof(struct sentinel_dns_record_medium) == 576, "medium record size");

struct sentinel_dns_record_large {
	struct sentinel_dns_event header;
	__u8 payload[SENTINEL_DNS_MAX_CAPTURE];
};
_Static_assert(sizeof(struct sentinel_dns_record_large) == 1296, "large record size");

/* Per-CPU counter slots (0-4 as in the contract's DNS_METRICS). */
enum sentinel_dns_counter {
	SENTINEL_DNS_INSPECTED = 0,      /* DNS messages seen (each one is emitted, skipped or lost) */
	SENTINEL_DNS_EVENTS_EMITTED = 1,
	SENTINEL_DNS_ERRORS = 2,         /* unparseable packets, bad UDP/TCP lengths */
	SENTINEL_DNS_EVENTS_DROPPED = 3, /* skipped + reserve failures + copy failures */
	SENTINEL_DNS_SEEN = 4,
	SENTINEL_DNS_EVENTS_SKIPPED = 5, /* ring above 75 %: not even reserved */
	SENTINEL_DNS_RESERVE_FAILED = 6,
	SENTINEL_DNS_COPY_FAILED = 7,    /* bpf_skb_load_bytes refused: the record is discarded */
	SENTINEL_DNS_TRUNCATED = 8,      /* emitted with captured_len < message_len */
	SENTINEL_DNS_WITH_META = 9,      /* messages located through xdp_firewall's metadata */
	SENTINEL_DNS_NOT_A_MESSAGE = 10, /* TCP port 53 segments without a message start */
	SENTINEL_DNS_COUNTER_SLOTS = 16,
};

#endif

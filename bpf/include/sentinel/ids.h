/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* tc_ids map and event ABI. The kernel only decides which packets the IDS engine sees (a
 * prefilter keyed by protocol and port, plus 1-in-N flow sampling) and copies the first bytes
 * of their payload to a ring; every pattern runs in userspace (docs/kernel.md).
 *
 * Reloads are atomic: the prefilter and the config hold two generations (the key's gen byte;
 * ids_config entry = generation). Userspace writes the idle generation, then flips ids_switch,
 * which the program reads once per packet: a packet sees one whole key set and its config. */
#ifndef SENTINEL_IDS_H
#define SENTINEL_IDS_H

enum {
	SENTINEL_IDS_MAX_KEYS = 16384,
	SENTINEL_IDS_CAPTURE_MAX = 2048,     /* payload bytes one event can carry */
	SENTINEL_IDS_CAPTURE_DEFAULT = 512,  /* used while the config says 0 */
	SENTINEL_IDS_ANY_PORT = 0,           /* key port 0: every packet of the protocol */
	SENTINEL_IDS_GENERATIONS = 2,
};

/* Prefilter key. Port 0 stands for "every port" (and is the only key a portless ICMP packet
 * can hit); a packet is looked up by protocol-wide key, then destination, then source port. */
struct sentinel_ids_key {
	__u16 port; /* host order */
	__u8 protocol;
	__u8 gen; /* the key set's generation (0 or 1) */
};
_Static_assert(sizeof(struct sentinel_ids_key) == 4, "ids key size");

/* Per-key overrides of the global config; 0 = use the config's value. */
struct sentinel_ids_filter {
	__u32 sample_every; /* keep flows whose hash % N == 0 (0 or 1: every flow) */
	__u32 capture_len;  /* payload bytes per event, capped at SENTINEL_IDS_CAPTURE_MAX */
};
_Static_assert(sizeof(struct sentinel_ids_filter) == 8, "ids filter size");

enum sentinel_ids_config_flag {
	SENTINEL_IDS_CFG_EMPTY_PAYLOADS = 0x01, /* also emit packets without payload (SYN, ACK) */
};

struct sentinel_ids_config {
	__u32 capture_len;  /* 0: SENTINEL_IDS_CAPTURE_DEFAULT */
	__u32 sample_every; /* 0 or 1: every flow */
	__u8 flags;         /* enum sentinel_ids_config_flag */
	__u8 _pad[7];
};
_Static_assert(sizeof(struct sentinel_ids_config) == 16, "ids config size");

/* ids_switch[0]: the active generation. */
struct sentinel_ids_switch {
	__u32 active;
	__u32 _pad;
};
_Static_assert(sizeof(struct sentinel_ids_switch) == 8, "ids switch size");

enum sentinel_ids_direction {
	SENTINEL_IDS_INGRESS = 0,
	SENTINEL_IDS_EGRESS = 1,
};

enum sentinel_ids_event_flag {
	SENTINEL_IDS_F_IPV6 = 0x01,
	SENTINEL_IDS_F_VLAN = 0x02,
	SENTINEL_IDS_F_TRUNCATED = 0x04,  /* payload_len > captured_len */
	SENTINEL_IDS_F_XDP_META = 0x08,   /* offsets and ports came from xdp_firewall's metadata */
	SENTINEL_IDS_F_MATCH_DST = 0x10,  /* which prefilter key let the packet through */
	SENTINEL_IDS_F_MATCH_SRC = 0x20,
	SENTINEL_IDS_F_MATCH_PROTO = 0x40,
};

/* One inspected packet: this 64-byte header, then captured_len payload bytes (the record is
 * exactly that long). Addresses in the contract's word form; IPv4 is [v4,0,0,0]. */
struct sentinel_ids_event {
	__u64 timestamp_ns; /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u32 src_addr[4];
	__u32 dst_addr[4];
	__u16 src_port; /* host order; 0 for ICMP */
	__u16 dst_port;
	__u8 protocol;
	__u8 direction; /* enum sentinel_ids_direction */
	__u8 flags;     /* enum sentinel_ids_event_flag */
	__u8 tcp_flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 ...; 0 if not TCP */
	__u32 ifindex;
	__u32 payload_len; /* payload bytes in the packet (after the L4 header) */
	__u32 flow_hash;   /* direction-independent; sampling keeps hash % N == 0 */
	__u16 captured_len;
	__u16 vlan_id;
};
_Static_assert(sizeof(struct sentinel_ids_event) == 64, "ids event size");

/* Per-CPU counters. seen = not_ip + errors + no_l4 + not_matched + matched;
 * matched = empty + sampled_out + inspected;
 * inspected = events_emitted + events_skipped + reserve_failed + capture_failed;
 * events_dropped = events_skipped + reserve_failed + capture_failed. */
enum sentinel_ids_counter {
	SENTINEL_IDS_MATCHED = 0,        /* a prefilter key hit */
	SENTINEL_IDS_DROPPED = 1,        /* always 0: tc_ids never drops (the contract's slot) */
	SENTINEL_IDS_ERRORS = 2,         /* unparseable packets */
	SENTINEL_IDS_EVENTS_DROPPED = 3, /* inspected but no event, whatever the cause */
	SENTINEL_IDS_SEEN = 4,
	SENTINEL_IDS_INSPECTED = 5,      /* an event was attempted */
	SENTINEL_IDS_SAMPLED_OUT = 6,
	SENTINEL_IDS_EVENTS_EMITTED = 7,
	SENTINEL_IDS_EVENTS_SKIPPED = 8, /* ring above 75 % */
	SENTINEL_IDS_RESERVE_FAILED = 9,
	SENTINEL_IDS_NOT_MATCHED = 10,
	SENTINEL_IDS_NOT_IP = 11,
	SENTINEL_IDS_META_USED = 12,     /* parsed from xdp metadata instead of the headers */
	SENTINEL_IDS_TRUNCATED = 13,     /* emitted with less payload than the packet had */
	SENTINEL_IDS_EMPTY = 14,         /* matched, no payload, empty payloads not wanted */
	SENTINEL_IDS_NO_L4 = 15,         /* no TCP/UDP/ICMP header: non-first fragment, other protocol */
	SENTINEL_IDS_CAPTURE_FAILED = 16, /* the payload could not be copied */
	SENTINEL_IDS_COUNTER_SLOTS = 24,
};

#endif

/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Event ABI shared by every program and the Python codec (one source of truth).
 * Fixed-width types and explicit padding only; every struct size is asserted;
 * constants are enums so they reach BTF and the layout test can read them. */
#ifndef SENTINEL_EVENTS_H
#define SENTINEL_EVENTS_H

enum sentinel_event_type {
	SENTINEL_EVENT_FIREWALL = 0,
	SENTINEL_EVENT_IDS = 1,
	SENTINEL_EVENT_IPS = 2,
	SENTINEL_EVENT_DLP = 3,
	SENTINEL_EVENT_RATELIMIT = 4,
	SENTINEL_EVENT_THREATINTEL = 5,
	SENTINEL_EVENT_L7 = 6,
	SENTINEL_EVENT_DNS = 7,
};

enum sentinel_action {
	SENTINEL_ACTION_PASS = 0,
	SENTINEL_ACTION_DROP = 1,
	SENTINEL_ACTION_LOG = 2,
};

enum sentinel_event_flag {
	SENTINEL_FLAG_IPV6 = 0x01,
	SENTINEL_FLAG_VLAN = 0x02,
	SENTINEL_FLAG_TCP = 0x04,
	SENTINEL_FLAG_BLOCKLIST = 0x10,      /* dropped by the IPS blocklist, not a rule */
	SENTINEL_FLAG_DEFAULT_POLICY = 0x20, /* no rule matched; rule_id is SENTINEL_NO_RULE */
	SENTINEL_FLAG_GEN1 = 0x40,           /* classified by rule-set generation 1 (else 0) */
};

enum { SENTINEL_NO_RULE = 0xFFFFFFFF };

/* The 56-byte core PacketEvent of the contract (§6.0, deviation 1). Addresses are
 * [u32;4], each word the host-order value of 4 wire bytes; IPv4 is [v4,0,0,0]. */
struct sentinel_packet_event {
	__u64 timestamp_ns; /* bpf_ktime_get_boot_ns(): CLOCK_BOOTTIME */
	__u32 src_addr[4];
	__u32 dst_addr[4];
	__u16 src_port; /* host order */
	__u16 dst_port;
	__u8 protocol;
	__u8 event_type; /* enum sentinel_event_type */
	__u8 action;     /* enum sentinel_action */
	__u8 flags;      /* enum sentinel_event_flag */
	__u32 rule_id;   /* firewall: index of the matched rule in priority order */
	__u16 vlan_id;   /* 0 = untagged */
	__u16 cpu_id;
};
_Static_assert(sizeof(struct sentinel_packet_event) == 56, "PacketEvent must be 56 bytes");

#endif

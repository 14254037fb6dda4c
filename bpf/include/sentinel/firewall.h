/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* xdp_firewall map ABI. Classification is rule-count independent: every packet field
 * is looked up once and yields a bitmap of the rules that field allows; the lowest bit
 * of the AND of all bitmaps is the highest-priority matching rule (docs/kernel.md). */
#ifndef SENTINEL_FIREWALL_H
#define SENTINEL_FIREWALL_H

enum {
	SENTINEL_FW_GENERATIONS = 2,      /* rule sets are written into the idle one, then flipped */
	SENTINEL_FW_MAX_RULES = 4096,
	SENTINEL_FW_WORDS = 64,           /* SENTINEL_FW_MAX_RULES / 64 */
	SENTINEL_FW_MAX_PORT_CLASSES = 8194, /* 2 * rules + 1 intervals, + class 0 "no ports" */
	SENTINEL_FW_MAX_PROTO_CLASSES = 256, /* distinct bitmaps over the 256 protocols */
	SENTINEL_FW_MAX_VLAN_CLASSES = 4096, /* distinct bitmaps over the 4,096 VLAN ids */
	SENTINEL_FW_MAX_ADDR_CLASSES = 4098, /* distinct address bitmaps: a prefix per rule, two /0s */
	SENTINEL_FW_MAX_IFACES = 64,
};

/* Bit i of words[] = rule i (priority order) is allowed by this field value.
 * Bit w of summary = words[w] is non-zero.
 * Bit w of anchor = words[w] holds a rule *anchored* at this field: every rule is anchored at
 * one field it really constrains (its most selective one), so a matching rule always sets its
 * word's anchor bit in at least one of the packet's bitmaps. The kernel only visits words in
 * (OR of the anchors) & (AND of the summaries): wildcard fields no longer make every word a
 * candidate (docs/kernel.md). */
struct sentinel_fw_bitmap {
	__u64 summary;
	__u64 anchor;
	__u64 words[SENTINEL_FW_WORDS];
};
_Static_assert(sizeof(struct sentinel_fw_bitmap) == 528, "bitmap size");

struct sentinel_lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4]; /* network order */
};
_Static_assert(sizeof(struct sentinel_lpm_v4_key) == 8, "lpm v4 key size");

struct sentinel_lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct sentinel_lpm_v6_key) == 20, "lpm v6 key size");

/* Classifier LPM keys carry the rule-set generation as their first data byte, so both
 * generations live in one trie (prefixlen = 8 + address prefix length). */
struct sentinel_fw_lpm_v4_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[4];
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sentinel_fw_lpm_v4_key) == 12, "fw lpm v4 key size");

struct sentinel_fw_lpm_v6_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[16];
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sentinel_fw_lpm_v6_key) == 24, "fw lpm v6 key size");

struct sentinel_fw_iface_key {
	__u32 gen;
	__u32 ifindex; /* 0 = any interface not listed */
};
_Static_assert(sizeof(struct sentinel_fw_iface_key) == 8, "iface key size");

/* The one word a reload flips: which generation packets are classified with. */
struct sentinel_fw_switch {
	__u32 active;
	__u32 flags; /* enum sentinel_fw_switch_flag (xdp_firewall only) */
};

enum sentinel_fw_switch_flag {
	/* Write the XDP metadata on drops too. Only test runs read it (a dropped packet never
	 * reaches TC); it costs a helper call (~8 ns here), so it is off unless asked for. */
	SENTINEL_FW_META_ON_DROP = 1,
};
_Static_assert(sizeof(struct sentinel_fw_switch) == 8, "switch size");

/* What a matched rule does, indexed by generation * SENTINEL_FW_MAX_RULES + rule position. */
struct sentinel_fw_rule {
	__u8 action; /* enum sentinel_action */
	__u8 _pad[3];
};
_Static_assert(sizeof(struct sentinel_fw_rule) == 4, "rule size");

struct sentinel_fw_config {
	__u8 default_policy; /* 0 pass, 1 drop */
	__u8 iface_scoped;   /* 1: some rule has an interface scope (else fw_iface is not read) */
	__u8 _pad[2];
	__u32 rule_count;
};
_Static_assert(sizeof(struct sentinel_fw_config) == 8, "config size");

/* XDP -> TC metadata, written in front of the packet with bpf_xdp_adjust_meta on every
 * classified packet. The first 8 bytes are the contract's layout (§6.0; its _pad byte now
 * carries the IP protocol); the next 8 carry what the parser found, so TC programs read
 * offsets and ports instead of parsing again (deviation 5). Offsets count from the start of
 * the Ethernet header. rule_id is the matched rule's index (SENTINEL_NO_RULE: default policy). */
enum sentinel_meta_flag {
	SENTINEL_META_PRESENT = 0x01,
	SENTINEL_META_IPV6 = 0x02,
	SENTINEL_META_HAS_PORTS = 0x04, /* TCP/UDP header present: l4_offset and ports are valid */
	SENTINEL_META_VLAN = 0x08,
	SENTINEL_META_GEN1 = 0x10, /* rule_id refers to rule-set generation 1 */
};

enum sentinel_ratelimit_status {
	SENTINEL_RL_NOT_CHECKED = 0,
	SENTINEL_RL_PASSED = 1,
	SENTINEL_RL_THROTTLED = 2,
};

struct sentinel_xdp_meta {
	__u32 rule_id;
	__u8 action;           /* enum sentinel_action */
	__u8 ratelimit_status; /* enum sentinel_ratelimit_status */
	__u8 meta_flags;       /* enum sentinel_meta_flag */
	__u8 protocol;         /* IP protocol / IPv6 upper-layer header */
	__u16 l3_offset;       /* IPv4/IPv6 header */
	__u16 l4_offset;       /* TCP/UDP/ICMP header (0: none, e.g. a non-first fragment) */
	__u16 src_port;        /* host order, valid with SENTINEL_META_HAS_PORTS */
	__u16 dst_port;
};
_Static_assert(sizeof(struct sentinel_xdp_meta) == 16, "meta size");

/* Per-CPU counter slots (0-4 as in the contract's FIREWALL_METRICS). */
enum sentinel_fw_counter {
	SENTINEL_FW_PASSED = 0,
	SENTINEL_FW_DROPPED = 1,
	SENTINEL_FW_ERRORS = 2,         /* parse errors */
	SENTINEL_FW_EVENTS_DROPPED = 3, /* skipped (backpressure) + reserve failures */
	SENTINEL_FW_SEEN = 4,
	SENTINEL_FW_EVENTS_EMITTED = 5, /* reserved and submitted */
	SENTINEL_FW_EVENTS_SKIPPED = 6, /* ring above 75 %: not even reserved */
	SENTINEL_FW_RESERVE_FAILED = 7,
	SENTINEL_FW_BLOCKLIST_DROPS = 8,
	SENTINEL_FW_LOGGED = 9,
	SENTINEL_FW_COUNTER_SLOTS = 16,
};

#endif

/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* Address tables: longest-prefix match in a few array reads (the verifier inlines them), instead
 * of the kernel LPM trie, whose bit-by-bit walk costs 45-100 ns where rule prefixes are dense,
 * or a hash lookup per level (~25-30 ns each here). docs/kernel.md, "Address tables".
 *
 * A table maps an address to the value (the firewall: a bitmap class) of the longest rule
 * prefix containing it. Userspace builds it (sentinel_adapters.ebpf.addr_trie). One u16 array
 * per generation of SENTINEL_ADDR_ENTRIES, cut into 256-entry chunks (chunk c = entries
 * [c * 256, c * 256 + 256)):
 * - chunks 0-255 are the IPv4 root, 256-511 the IPv6 root: 65,536 entries each, indexed by the
 *   address's top 16 bits;
 * - the rest is a pool both families draw from. An entry with SENTINEL_ADDR_CHUNK set continues
 *   in that chunk, indexed by the next address byte; any other entry is the value. A prefix is
 *   painted over every entry it covers, longer ones last, so each read holds the longest match
 *   so far (prefix expansion).
 * IPv4 is DIR-16-8-8: a chunk for the third byte, then one for the fourth; three reads at most.
 * IPv6 chunks are path-compressed: a chunk may index any later byte. An entry pointing to one
 * that skips bytes carries SENTINEL_ADDR_CHECK; the chunk's struct sentinel_addr_chunk then names
 * its byte (check_len / 8) and the bits every address reaching it must share. An address that
 * differs there has no longer match, so the walk ends with the chunk's fallback. Other chunks
 * index the byte after their parent's and need no check. Every chunk paints a prefix or
 * branches, so a field's prefixes need at most twice as many chunks, and an IPv6 walk reads 14
 * chunks at most. */
#ifndef SENTINEL_ADDR_TRIE_H
#define SENTINEL_ADDR_TRIE_H

enum {
	SENTINEL_ADDR_CHUNK = 0x8000,
	SENTINEL_ADDR_CHECK = 0x4000, /* with CHUNK: the chunk skips bytes, check its header */
	SENTINEL_ADDR_ID = 0x3FFF,    /* the chunk number, or the value */
	SENTINEL_ADDR_V6_ROOT = 256 * 256, /* first entry of the IPv6 root */
	SENTINEL_ADDR_MAX_CHUNKS = 8192,   /* pool: two per prefix, for 4,096 prefixes */
	SENTINEL_ADDR_CHUNKS = 512 + SENTINEL_ADDR_MAX_CHUNKS,
	SENTINEL_ADDR_ENTRIES = SENTINEL_ADDR_CHUNKS * 256, /* per generation */
	SENTINEL_ADDR_V6_HOPS = 14,                         /* chunks at bytes 2..15 */
	SENTINEL_ADDR_WIDE_BASE = 16128, /* root entry ids from here on name wide chunks */
	SENTINEL_ADDR_MAX_WIDE = 8,      /* wide chunks per generation */
	SENTINEL_ADDR_WIDE_ENTRIES = SENTINEL_ADDR_MAX_WIDE * 65536, /* per generation */
};

/* What an IPv6 address must share to enter a chunk. */
struct sentinel_addr_chunk {
	__u32 prefix[4]; /* network order, masked to check_len bits */
	__u32 mask[4];   /* network order: check_len leading ones */
	__u8 check_len;  /* a multiple of 8; the chunk is indexed by address byte check_len / 8 */
	__u8 _pad;
	__u16 fallback;  /* the longest match of an address that does not share them */
};
_Static_assert(sizeof(struct sentinel_addr_chunk) == 36, "addr chunk size");

/* Both generations of `per_gen` u16 entries: a table (chunks) or its wide chunks. */
#define SENTINEL_ADDR_U16_ARRAY(name, per_gen)                                 \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__uint(max_entries, 2 * (per_gen));                            \
		__type(key, __u32);                                            \
		__type(value, __u16);                                          \
	} name SEC(".maps")

#define SENTINEL_ADDR_TABLE(name) SENTINEL_ADDR_U16_ARRAY(name, SENTINEL_ADDR_ENTRIES)
#define SENTINEL_ADDR_WIDE_MAP(name) SENTINEL_ADDR_U16_ARRAY(name, SENTINEL_ADDR_WIDE_ENTRIES)

#define SENTINEL_ADDR_CHUNKS_MAP(name)                                         \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__uint(max_entries, 2 * SENTINEL_ADDR_CHUNKS);                 \
		__type(key, __u32);                                            \
		__type(value, struct sentinel_addr_chunk);                     \
	} name SEC(".maps")

/* Value of the longest prefix containing the IPv4 address `be` (network order). */
static __always_inline __u32 sentinel_addr_v4(void *table, __u32 gen, __u32 be)
{
	__u32 host = bpf_ntohl(be);
	__u32 base = (gen & 1) * SENTINEL_ADDR_ENTRIES;
	__u32 index = base + (host >> 16);
	__u16 *e = bpf_map_lookup_elem(table, &index);
	__u32 entry = e ? *e : 0;
	if (entry & SENTINEL_ADDR_CHUNK) {
		index = base + (entry & SENTINEL_ADDR_ID) * 256 + ((host >> 8) & 0xFF);
		e = bpf_map_lookup_elem(table, &index);
		entry = e ? *e : 0;
		if (entry & SENTINEL_ADDR_CHUNK) {
			index = base + (entry & SENTINEL_ADDR_ID) * 256 + (host & 0xFF);
			e = bpf_map_lookup_elem(table, &index);
			entry = e ? *e : 0;
		}
	}
	return entry & SENTINEL_ADDR_ID;
}

/* Value of the longest prefix containing the IPv6 address w0..w3 (network-order words).
 *
 * Programs wrap it in a global function (SENTINEL_ADDR_V6_LOOKUP): the verifier then checks the
 * walk once, not once per path through the rest of the program (each hop's exit is a path). */
static __always_inline __u32 sentinel_addr_v6(void *table, void *chunks, void *wide, __u32 gen, __u32 w0,
					      __u32 w1, __u32 w2, __u32 w3)
{
	__u32 words[4] = {w0, w1, w2, w3};
	__u8 bytes[16];
	__builtin_memcpy(bytes, words, 16);
	__u32 base = (gen & 1) * SENTINEL_ADDR_ENTRIES;
	__u32 index = base + SENTINEL_ADDR_V6_ROOT + (bpf_ntohl(w0) >> 16);
	__u16 *e = bpf_map_lookup_elem(table, &index);
	__u32 entry = e ? *e : 0;
	__u32 pos = 16; /* address bits the walk has consumed */
	__u32 id = entry & SENTINEL_ADDR_ID;
	if ((entry & SENTINEL_ADDR_CHUNK) && id >= SENTINEL_ADDR_WIDE_BASE) {
		index = (gen & 1) * SENTINEL_ADDR_WIDE_ENTRIES + (id - SENTINEL_ADDR_WIDE_BASE) * 65536 +
			(bpf_ntohl(w0) & 0xFFFF);
		e = bpf_map_lookup_elem(wide, &index);
		entry = e ? *e : 0;
		pos = 32;
	}
	for (int hop = 0; hop < SENTINEL_ADDR_V6_HOPS && (entry & SENTINEL_ADDR_CHUNK); hop++) {
		__u32 chunk = entry & SENTINEL_ADDR_ID;
		if (entry & SENTINEL_ADDR_CHECK) {
			__u32 slot = (gen & 1) * SENTINEL_ADDR_CHUNKS + chunk;
			struct sentinel_addr_chunk *c = bpf_map_lookup_elem(chunks, &slot);
			if (!c)
				return 0;
			if (((words[0] & c->mask[0]) ^ c->prefix[0]) | ((words[1] & c->mask[1]) ^ c->prefix[1]) |
			    ((words[2] & c->mask[2]) ^ c->prefix[2]) | ((words[3] & c->mask[3]) ^ c->prefix[3]))
				return c->fallback;
			pos = c->check_len;
		}
		index = base + chunk * 256 + bytes[(pos >> 3) & 15];
		pos += 8;
		e = bpf_map_lookup_elem(table, &index);
		entry = e ? *e : 0;
	}
	return entry & SENTINEL_ADDR_ID;
}

/* A global function `name`(gen, w0..w3) walking the IPv6 half of `table`. */
#define SENTINEL_ADDR_V6_LOOKUP(name, table, chunks, wide)                                     \
	__attribute__((noinline)) __u32 name(__u32 gen, __u32 w0, __u32 w1, __u32 w2, __u32 w3) \
	{                                                                                      \
		return sentinel_addr_v6(&table, &chunks, &wide, gen, w0, w1, w2, w3);          \
	}

#endif

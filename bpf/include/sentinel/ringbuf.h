/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* BPF-side ring buffer emission with adaptive backpressure: above 75 % fill an event is
 * skipped (never reserved) and counted; verdicts never depend on the ring. */
#ifndef SENTINEL_RINGBUF_H
#define SENTINEL_RINGBUF_H

static __always_inline int sentinel_ring_has_room(void *ring, __u64 ring_size)
{
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) <= ring_size / 4 * 3;
}

#endif

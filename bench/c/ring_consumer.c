// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* The C reference consumer for bench_ring.py: drains a BPF ring buffer whose fd the parent
 * passed down, with libbpf's ring_buffer__consume, once per line read on stdin, and prints
 * "<events> <ns> <bad>" per round. The callback does what the Python path does: check the
 * record size, read the action, count per action. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "sentinel/events.h"

struct tally {
	__u64 events;
	__u64 bad;
	__u64 by_action[4];
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct tally *t = ctx;
	const struct sentinel_packet_event *e = data;

	if (size != sizeof(*e) || e->event_type > SENTINEL_EVENT_DNS) {
		t->bad++;
		return 0;
	}
	t->events++;
	t->by_action[e->action & 3]++;
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct tally t = {};
	char line[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s RING_MAP_FD\n", argv[0]);
		return 2;
	}
	struct ring_buffer *rb = ring_buffer__new(atoi(argv[1]), on_event, &t, NULL);
	if (!rb) {
		perror("ring_buffer__new");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		__u64 before = t.events;
		long long start = now_ns();
		int rc = ring_buffer__consume(rb);
		long long elapsed = now_ns() - start;

		if (rc < 0) {
			fprintf(stderr, "ring_buffer__consume: %d\n", rc);
			break;
		}
		printf("%llu %lld %llu\n", t.events - before, elapsed, t.bad);
	}
	ring_buffer__free(rb);
	return 0;
}

/*
 * libpmem_harness -- the C contenders of the primitives benchmark: PMDK's libpmem, and plain memcpy
 * (the limit: the same stores with no write-back and no fence).
 *
 *   libpmem-harness libpmem|memcpy FILE SPAN BUDGET_MS OP:SIZE...
 *
 * OP is `copy` (copy+persist of SIZE bytes) or `persist` (a store that dirties the line, then persist
 * SIZE bytes). Destinations rotate through the first SPAN bytes of FILE, one every max(SIZE, 4 KiB), as in
 * pmemdax.mjs; warm-up and batching are the same there too. Prints one JSON line per operation with the
 * mean ns/op of each timed batch; run.mjs takes the medians.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum contender { LIBPMEM, MEMCPY };
enum op { OP_COPY, OP_PERSIST };

#define MAX_BATCHES 4000
#define WARMUP_NS 30000000.0  /* 30 ms before any timing */
#define BATCH_NS 1000000.0    /* aim for batches of about 1 ms: long against the clock, short against noise */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* step_for -- distance between consecutive destinations; pmemdax.mjs uses the same. */
static size_t step_for(size_t size)
{
	return size < 4096 ? 4096 : size;
}

/* run_ops -- n operations, continuing the rotation at *slot. */
static void run_ops(enum contender who, enum op op, char *base, size_t span, const char *src, size_t size,
		    size_t n, size_t *slot)
{
	size_t step = step_for(size);
	size_t slots = span / step;
	for (size_t i = 0; i < n; i++) {
		char *dst = base + (*slot) * step;
		if (++*slot == slots)
			*slot = 0;
		if (op == OP_COPY) {
			if (who == LIBPMEM)
				pmem_memcpy_persist(dst, src, size);
			else
				memcpy(dst, src, size);
		} else {
			/* The store both contenders make to dirty the line before persisting it. */
			*(volatile uint8_t *)dst = (uint8_t)i;
			if (who == LIBPMEM)
				pmem_persist(dst, size);
		}
	}
}

static void measure(enum contender who, enum op op, char *base, size_t span, size_t size, double budget_ns)
{
	static double means[MAX_BATCHES];
	char *src = malloc(size);
	if (src == NULL) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < size; i++)
		src[i] = (char)(i * 31 + 7);

	size_t slot = 0;
	size_t per_batch = 1;
	double start = now_ns();
	/* Warm up and grow the batch until one takes about BATCH_NS. */
	while (now_ns() - start < WARMUP_NS) {
		double t0 = now_ns();
		run_ops(who, op, base, span, src, size, per_batch, &slot);
		double dt = now_ns() - t0;
		if (dt < BATCH_NS / 2)
			per_batch *= 2;
	}

	size_t batches = 0;
	start = now_ns();
	while (batches < MAX_BATCHES && (batches < 5 || now_ns() - start < budget_ns)) {
		double t0 = now_ns();
		run_ops(who, op, base, span, src, size, per_batch, &slot);
		means[batches++] = (now_ns() - t0) / (double)per_batch;
	}

	printf("{\"op\":\"%s\",\"size\":%zu,\"perBatch\":%zu,\"means\":[", op == OP_COPY ? "copy" : "persist", size,
	       per_batch);
	for (size_t i = 0; i < batches; i++)
		printf("%s%.3f", i ? "," : "", means[i]);
	printf("]}\n");
	fflush(stdout);
	free(src);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s libpmem|memcpy FILE SPAN BUDGET_MS OP:SIZE...\n", argv[0]);
		return 2;
	}
	enum contender who;
	if (strcmp(argv[1], "libpmem") == 0)
		who = LIBPMEM;
	else if (strcmp(argv[1], "memcpy") == 0)
		who = MEMCPY;
	else {
		fprintf(stderr, "unknown contender %s\n", argv[1]);
		return 2;
	}
	size_t span = strtoull(argv[3], NULL, 10);
	double budget_ns = strtod(argv[4], NULL) * 1e6;

	size_t mapped_len;
	int is_pmem;
	char *base = pmem_map_file(argv[2], 0, 0, 0, &mapped_len, &is_pmem);
	if (base == NULL) {
		fprintf(stderr, "pmem_map_file %s: %s\n", argv[2], pmem_errormsg());
		return 1;
	}
	if (mapped_len < span) {
		fprintf(stderr, "%s is %zu bytes, smaller than the span %zu\n", argv[2], mapped_len, span);
		return 1;
	}
	/* Fault every page in before timing; the JS contender does the same. */
	memset(base, 0, span);

	printf("{\"contender\":\"%s\",\"isPmem\":%d}\n", argv[1], is_pmem);
	for (int i = 5; i < argc; i++) {
		char name[16];
		size_t size;
		if (sscanf(argv[i], "%15[a-z]:%zu", name, &size) != 2 || size == 0) {
			fprintf(stderr, "bad operation %s\n", argv[i]);
			return 2;
		}
		enum op op;
		if (strcmp(name, "copy") == 0)
			op = OP_COPY;
		else if (strcmp(name, "persist") == 0)
			op = OP_PERSIST;
		else {
			fprintf(stderr, "bad operation %s\n", argv[i]);
			return 2;
		}
		measure(who, op, base, span, size, budget_ns);
	}
	pmem_unmap(base, mapped_len);
	return 0;
}

/* memcpy.c -- the machine's memcpy bandwidth for the pattern of the sequential-read workload: 1 MiB copies
 * walking a large source (a file in /dev/shm, mapped) into one 1 MiB destination. Prints one JSON line.
 *
 *   memcpy FILE BYTES BUDGET_MS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s FILE BYTES BUDGET_MS\n", argv[0]);
    return 2;
  }
  size_t bytes = strtoull(argv[2], NULL, 10);
  double budget = strtod(argv[3], NULL) * 1e6;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) {
    perror(argv[1]);
    return 1;
  }
  unsigned char *src = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  unsigned char *dst = aligned_alloc(4096, CHUNK);
  if (src == MAP_FAILED || dst == NULL) {
    perror("mmap");
    return 1;
  }
  /* Fault in and fill the source, as the contenders' data sets are. */
  for (size_t i = 0; i < bytes; i += 4096) memset(src + i, (int)(i >> 12), 4096);
  memset(dst, 0, CHUNK);
  size_t chunks = bytes / CHUNK, cap = 1u << 20, n = 0;
  double *samples = malloc(cap * sizeof *samples);
  unsigned sum = 0;
  /* A quarter of the budget warms up; the rest is timed per copy. */
  for (int phase = 0; phase < 2; phase++) {
    double start = now_ns(), stop = start + (phase ? budget : budget / 4), last = start;
    for (size_t k = 0; last < stop && n < cap; k++) {
      memcpy(dst, src + (k % chunks) * CHUNK, CHUNK);
      sum += dst[k & (CHUNK - 1)];
      double t = now_ns();
      if (phase) samples[n++] = t - last;
      last = t;
    }
  }
  qsort(samples, n, sizeof *samples, cmp);
  printf("{\"n\":%zu,\"median\":%.1f,\"p99\":%.1f,\"check\":%u}\n", n, samples[n / 2],
         samples[(size_t)(n * 0.99)], sum & 1);
  munmap(src, bytes);
  close(fd);
  unlink(argv[1]);
  return 0;
}

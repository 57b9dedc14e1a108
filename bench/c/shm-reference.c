/*
 * C reference for the shared-memory benchmark: two processes (fork) on two cores, talking through one
 * shared mapping (shm_open + mmap, as wirespeed's process channels do).
 *   pingpong COUNT: one 11-byte message out, a copy back, COUNT times (spinning, no syscalls)
 *   stream COUNT BATCH: COUNT 11-byte messages one way through an SPSC ring, publishing every BATCH
 * Prints one JSON line. Build: cc -O2 -o shm-reference shm-reference.c (-lrt on old glibc). Its loops are
 * ./shm-loops.c's, included.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm-loops.c"

struct shared {
  struct pingpong_slots slots;
  struct stream_ring stream;
};

static void pin(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  sched_setaffinity(0, sizeof set, &set);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: %s pingpong|stream COUNT [BATCH]\n", argv[0]), 2;
  int stream = strcmp(argv[1], "stream") == 0;
  uint32_t count = (uint32_t)strtoul(argv[2], 0, 10);
  uint32_t batch = argc > 3 ? (uint32_t)strtoul(argv[3], 0, 10) : 1;
  char name[64];
  snprintf(name, sizeof name, "/wirespeed-c-%d", getpid());
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, sizeof(struct shared)) != 0) return perror("shm"), 1;
  struct shared *s = mmap(0, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (s == MAP_FAILED) return perror("mmap"), 1;
  close(fd);
  shm_unlink(name);
  memset(s, 0, sizeof *s);
  pid_t child = fork();
  uint32_t errors = 0;
  if (child == 0) {
    pin(0);
    if (!stream) pingpong_serve(&s->slots, 1, count);
    else atomic_store(&s->slots.pong, stream_consume(&s->stream, 1, count)); /* its wrong messages, for the parent */
    _exit(0);
  }
  pin(1);
  double start = now();
  if (!stream) errors = pingpong_call(&s->slots, 1, count);
  else stream_produce(&s->stream, 1, count, batch); /* returns once the consumer has read them all */
  double seconds = now() - start;
  waitpid(child, 0, 0);
  if (stream) errors = atomic_load(&s->slots.pong);
  printf("{\"mode\":\"%s\",\"count\":%u,\"batch\":%u,\"seconds\":%f,\"perSecond\":%f,\"errors\":%u}\n", argv[1], count, batch, seconds, count / seconds, errors);
  return 0;
}

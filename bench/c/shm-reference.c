/*
 * C reference for the shared-memory benchmark: two processes (fork) on two cores, talking through one
 * shared mapping (shm_open + mmap, as wirespeed's process channels do).
 *   pingpong COUNT: one 11-byte message out, a copy back, COUNT times (spinning, no syscalls)
 *   stream COUNT BATCH: COUNT 11-byte messages one way through an SPSC ring, publishing every BATCH
 * Prints one JSON line. Build: cc -O2 -o shm-reference shm-reference.c (-lrt on old glibc).
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

#define CAPACITY (1u << 20)
#define SIZE 11
#define RECORD 16 /* 4-byte length + 11 bytes, padded to 4 */

struct shared {
  _Alignas(64) _Atomic uint32_t ping;
  _Alignas(64) _Atomic uint32_t pong;
  _Alignas(64) _Atomic uint32_t head;
  _Alignas(64) _Atomic uint32_t tail;
  _Alignas(64) uint8_t a[64];
  _Alignas(64) uint8_t b[64];
  _Alignas(64) uint8_t ring[CAPACITY];
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
    uint8_t message[SIZE];
    if (!stream) {
      for (uint32_t i = 1; i <= count; i++) {
        while (atomic_load_explicit(&s->ping, memory_order_acquire) != i) {}
        memcpy(message, s->a, SIZE);
        memcpy(s->b, message, SIZE);
        atomic_store_explicit(&s->pong, i, memory_order_release);
      }
    } else {
      uint32_t tail = 0, head = 0;
      for (uint32_t i = 0; i < count; i++) {
        while (head == tail) head = atomic_load_explicit(&s->head, memory_order_acquire);
        memcpy(message, s->ring + (tail & (CAPACITY - 1)) + 4, SIZE);
        if (*(uint32_t *)message != i) errors++;
        tail += RECORD;
        if ((i & 31) == 31 || tail == head) atomic_store_explicit(&s->tail, tail, memory_order_release);
      }
      atomic_store_explicit(&s->tail, tail, memory_order_release);
      atomic_store_explicit(&s->pong, errors + 1, memory_order_release);
    }
    _exit(0);
  }
  pin(1);
  uint8_t message[SIZE] = {0}, reply[SIZE];
  double start = now();
  if (!stream) {
    for (uint32_t i = 1; i <= count; i++) {
      memcpy(message, &i, 4);
      memcpy(s->a, message, SIZE);
      atomic_store_explicit(&s->ping, i, memory_order_release);
      while (atomic_load_explicit(&s->pong, memory_order_acquire) != i) {}
      memcpy(reply, s->b, SIZE);
      if (memcmp(reply, message, SIZE) != 0) errors++;
    }
  } else {
    uint32_t head = 0, tailSeen = 0, unpublished = 0;
    for (uint32_t i = 0; i < count; i++) {
      while (CAPACITY - (head - tailSeen) < RECORD) tailSeen = atomic_load_explicit(&s->tail, memory_order_acquire);
      uint8_t *at = s->ring + (head & (CAPACITY - 1));
      uint32_t length = SIZE;
      memcpy(at, &length, 4);
      memcpy(message, &i, 4);
      memcpy(at + 4, message, SIZE);
      head += RECORD;
      if (++unpublished >= batch) {
        atomic_store_explicit(&s->head, head, memory_order_release);
        unpublished = 0;
      }
    }
    atomic_store_explicit(&s->head, head, memory_order_release);
    uint32_t done;
    while ((done = atomic_load_explicit(&s->pong, memory_order_acquire)) == 0) {}
    errors += done - 1;
  }
  double seconds = now() - start;
  waitpid(child, 0, 0);
  printf("{\"mode\":\"%s\",\"count\":%u,\"batch\":%u,\"seconds\":%f,\"perSecond\":%f,\"errors\":%u}\n", argv[1], count, batch, seconds, count / seconds, errors);
  return 0;
}

#define _GNU_SOURCE
/*
 * C reference for the TCP channel benchmark: two processes (fork) on two cores, one TCP connection over
 * loopback, ping-pong of one framed message at a time (a 4-byte length and 11 bytes, as a wirespeed channel
 * frames it), with blocking read and write and TCP_NODELAY: what a roundtrip costs at the least.
 *   tcp-pingpong COUNT      prints one JSON line
 * Build: cc -O2 -o tcp-pingpong tcp-pingpong.c
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME 15

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

static int read_all(int fd, uint8_t *bytes, size_t length) {
  for (size_t at = 0; at < length;) {
    ssize_t got = read(fd, bytes + at, length - at);
    if (got <= 0) return -1;
    at += got;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s COUNT\n", argv[0]), 2;
  uint32_t count = (uint32_t)strtoul(argv[1], 0, 10);
  int one = 1;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0) return perror("listen"), 1;
  getsockname(listener, (struct sockaddr *)&address, &length);
  pid_t child = fork();
  if (child == 0) {
    pin(0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return perror("connect"), 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t frame[FRAME];
    for (uint32_t i = 0; i < count; i++) {
      if (read_all(fd, frame, FRAME) != 0) _exit(1);
      if (write(fd, frame, FRAME) != FRAME) _exit(1);
    }
    _exit(0);
  }
  pin(1);
  int fd = accept(listener, 0, 0);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint8_t frame[FRAME] = {0, 0, 0, 11}, reply[FRAME];
  uint32_t errors = 0;
  double start = now();
  for (uint32_t i = 0; i < count; i++) {
    memcpy(frame + 4, &i, 4);
    if (write(fd, frame, FRAME) != FRAME || read_all(fd, reply, FRAME) != 0) return fprintf(stderr, "connection lost\n"), 1;
    if (memcmp(frame, reply, FRAME) != 0) errors++;
  }
  double seconds = now() - start;
  waitpid(child, 0, 0);
  printf("{\"count\":%u,\"seconds\":%f,\"perSecond\":%f,\"errors\":%u}\n", count, seconds, count / seconds, errors);
  return 0;
}

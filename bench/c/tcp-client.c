#define _GNU_SOURCE
/*
 * The load generator of the TCP benchmark: CONNECTIONS connections to an echo server, one SIZE-byte message
 * outstanding on each (send, wait for all SIZE bytes back, send again), for SECONDS after a short warm-up.
 * One thread and one epoll set, so it costs little more than the syscalls and cannot be what saturates
 * first (the Node client did). Prints one JSON line: roundtrips (measured), allRoundtrips (warm-up
 * included), roundtripsPerSecond, p50Us, p99Us.
 *   tcp-client PORT CONNECTIONS SECONDS [SIZE]        (127.0.0.1)
 *   tcp-client unix:PATH CONNECTIONS SECONDS [SIZE]
 * Build: cc -O2 -o tcp-client tcp-client.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS_MAX 1024
#define SIZE_MAX_BYTES 65536
#define BUCKETS 100000 /* 1 µs each: latencies up to 100 ms, the rest counted in the last */
#define WARMUP_SECONDS 0.3

struct peer {
  int fd;
  size_t got;
  double sentAt;
};

static uint64_t histogram[BUCKETS];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int connectTo(const char *target) {
  int fd;
  if (strncmp(target, "unix:", 5) == 0) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, target + 5, sizeof address.sun_path - 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return -1;
  } else {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(target))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static double percentile(uint64_t total, double fraction) {
  uint64_t wanted = (uint64_t)(total * fraction), seen = 0;
  for (int i = 0; i < BUCKETS; i++) {
    seen += histogram[i];
    if (seen > wanted) return i + 0.5;
  }
  return BUCKETS;
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: %s PORT|unix:PATH CONNECTIONS SECONDS [SIZE]\n", argv[0]), 2;
  int connections = atoi(argv[2]);
  double seconds = atof(argv[3]);
  size_t size = argc > 4 ? (size_t)atoi(argv[4]) : 16;
  if (connections < 1 || connections > CONNECTIONS_MAX) return fprintf(stderr, "connections: 1 to %d\n", CONNECTIONS_MAX), 2;
  if (size < 1 || size > SIZE_MAX_BYTES) return fprintf(stderr, "size: 1 to %d\n", SIZE_MAX_BYTES), 2;
  if (!(seconds > 0 && seconds <= 600)) return fprintf(stderr, "seconds: over 0, at most 600\n"), 2;
  static uint8_t message[SIZE_MAX_BYTES], scratch[SIZE_MAX_BYTES];
  memset(message, 'x', size);
  static struct peer peers[CONNECTIONS_MAX];
  int poller = epoll_create1(0);
  for (int i = 0; i < connections; i++) {
    peers[i].fd = connectTo(argv[1]);
    if (peers[i].fd < 0) return perror("connect"), 1;
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(poller, EPOLL_CTL_ADD, peers[i].fd, &event);
  }
  double start = now(), measureFrom = start + WARMUP_SECONDS, stop = measureFrom + seconds;
  for (int i = 0; i < connections; i++) {
    peers[i].sentAt = start;
    if (write(peers[i].fd, message, size) != (ssize_t)size) return perror("write"), 1;
  }
  uint64_t roundtrips = 0, all = 0; /* measured; and all, warm-up included, to divide the server's CPU time by */
  struct epoll_event events[CONNECTIONS_MAX];
  double t = start;
  while (t < stop) {
    int ready = epoll_wait(poller, events, connections, 1000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return fprintf(stderr, "tcp-client: no reply in 1 s\n"), 1;
    t = now();
    for (int e = 0; e < ready; e++) {
      struct peer *peer = &peers[events[e].data.u32];
      ssize_t got = read(peer->fd, scratch, size - peer->got);
      if (got <= 0) return fprintf(stderr, "tcp-client: the server closed a connection\n"), 1;
      peer->got += (size_t)got;
      if (peer->got < size) continue;
      peer->got = 0;
      all++;
      if (peer->sentAt >= measureFrom && t < stop) {
        double micros = (t - peer->sentAt) * 1e6;
        histogram[micros < BUCKETS - 1 ? (int)micros : BUCKETS - 1]++;
        roundtrips++;
      }
      peer->sentAt = t;
      if (write(peer->fd, message, size) != (ssize_t)size) return perror("write"), 1;
    }
  }
  printf("{\"roundtrips\":%llu,\"allRoundtrips\":%llu,\"roundtripsPerSecond\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f}\n",
         (unsigned long long)roundtrips, (unsigned long long)all, roundtrips / seconds, percentile(roundtrips, 0.5), percentile(roundtrips, 0.99));
  return 0;
}

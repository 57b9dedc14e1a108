#define _GNU_SOURCE
/*
 * Load generator for the WebSocket benchmark: one thread, epoll, C, so that it does not saturate before the
 * servers do. Every connection opens with a plain RFC 6455 handshake (no compression) to 127.0.0.1:PORT.
 *
 *   ws-load PORT SERVER_PID echo CONNECTIONS SECONDS SIZE
 *     each connection sends a SIZE-byte text message and sends the next when the echo is back whole
 *   ws-load PORT SERVER_PID idle CONNECTIONS SECONDS SIZE     (and tcp-idle: no handshake, plain TCP)
 *     opens CONNECTIONS and holds them, sending nothing; prints "ready" once all are open, exits after SECONDS
 *   ws-load PORT SERVER_PID fanout SUBSCRIBERS SECONDS SIZE
 *     SUBSCRIBERS connections only read; one more sends "P..." messages, which the server publishes to every
 *     other socket; at most WINDOW messages are outstanding (not yet received by every subscriber)
 *
 * Prints one JSON line: {"messages": sent and completed, "deliveries": frames received, "seconds": the
 * measured window, "serverCpuSeconds": the server's user+system time over the same window (/proc)}.
 * The window starts after every handshake is done, so the handshakes are not counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER_BYTES (256 * 1024)
#define WINDOW 8

typedef struct {
  int fd;
  size_t have;
  long received;
  unsigned char buffer[BUFFER_BYTES];
} Connection;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(int pid) {
  char path[64], text[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *file = fopen(path, "r");
  if (!file) return -1;
  size_t length = fread(text, 1, sizeof text - 1, file);
  fclose(file);
  text[length] = 0;
  char *after = strrchr(text, ')');
  if (!after) return -1;
  unsigned long utime = 0, stime = 0;
  // Fields after the name: state is 3rd; utime and stime are the 14th and 15th of the line.
  sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
  return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static int open_socket(int port, int handshake) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return perror("connect"), -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!handshake) return fd;
  const char *request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (write(fd, request, strlen(request)) != (ssize_t)strlen(request)) return perror("write"), -1;
  char head[4096];
  size_t have = 0;
  while (have < sizeof head - 1) {
    ssize_t got = read(fd, head + have, 1);  // byte by byte: nothing past the head is taken
    if (got <= 0) return fprintf(stderr, "handshake: connection closed\n"), -1;
    have += got;
    head[have] = 0;
    if (have >= 4 && memcmp(head + have - 4, "\r\n\r\n", 4) == 0) break;
  }
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) return fprintf(stderr, "handshake refused: %.40s\n", head), -1;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* A masked text frame of `size` bytes whose payload starts with `first` (mask key 0x37 0xfa 0x21 0x3d). */
static size_t client_frame(unsigned char *frame, size_t size, char first) {
  static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t at = 0;
  frame[at++] = 0x81;
  if (size < 126) frame[at++] = 0x80 | size;
  else { frame[at++] = 0x80 | 126; frame[at++] = size >> 8; frame[at++] = size & 0xff; }
  memcpy(frame + at, key, 4);
  at += 4;
  for (size_t i = 0; i < size; i++) frame[at + i] = (i == 0 ? first : 'e') ^ key[i & 3];
  return at + size;
}

/* Takes the whole frames in a connection's buffer. @returns how many */
static long take_frames(Connection *c) {
  long frames = 0;
  size_t at = 0;
  for (;;) {
    if (c->have - at < 2) break;
    unsigned char *p = c->buffer + at;
    size_t length = p[1] & 0x7f, head = 2;
    if (length == 126) { if (c->have - at < 4) break; length = (p[2] << 8) | p[3]; head = 4; }
    else if (length == 127) { if (c->have - at < 10) break; length = 0; for (int i = 2; i < 10; i++) length = (length << 8) | p[i]; head = 10; }
    if (c->have - at < head + length) break;
    at += head + length;
    frames++;
  }
  memmove(c->buffer, c->buffer + at, c->have - at);
  c->have -= at;
  return frames;
}

static int read_into(Connection *c) {
  for (;;) {
    ssize_t got = read(c->fd, c->buffer + c->have, BUFFER_BYTES - c->have);
    if (got > 0) { c->have += got; if (c->have == BUFFER_BYTES) return 0; continue; }
    if (got == 0) return fprintf(stderr, "server closed a connection\n"), -1;
    if (errno == EAGAIN) return 0;
    return perror("read"), -1;
  }
}

int main(int argc, char **argv) {
  if (argc < 7) return fprintf(stderr, "usage: %s PORT SERVER_PID echo|fanout CONNECTIONS SECONDS SIZE\n", argv[0]), 2;
  signal(SIGPIPE, SIG_IGN);  // a server that closes a connection is reported, not a silent death
  int port = atoi(argv[1]), pid = atoi(argv[2]);
  int fanout = strcmp(argv[3], "fanout") == 0;
  int idle = strcmp(argv[3], "idle") == 0, tcp_idle = strcmp(argv[3], "tcp-idle") == 0;
  int count = atoi(argv[4]);
  double seconds = atof(argv[5]);
  size_t size = atoi(argv[6]);
  if (count < 1 || count > 100000 || size < 1 || size > 60000 || seconds <= 0) return fprintf(stderr, "bad arguments\n"), 2;
  int total = count + (fanout ? 1 : 0);
  if (idle || tcp_idle) {
    int *fds = calloc(count, sizeof(int));
    for (int i = 0; i < count; i++) if ((fds[i] = open_socket(port, idle)) < 0) return 1;
    printf("ready\n");
    fflush(stdout);
    usleep((useconds_t)(seconds * 1e6));
    for (int i = 0; i < count; i++) close(fds[i]);
    return 0;
  }
  Connection *connections = calloc(total, sizeof(Connection));
  int epoll = epoll_create1(0);
  for (int i = 0; i < total; i++) {
    connections[i].fd = open_socket(port, 1);
    if (connections[i].fd < 0) return 1;
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(epoll, EPOLL_CTL_ADD, connections[i].fd, &event);
  }
  unsigned char frame[65600];
  size_t frame_length = client_frame(frame, size, fanout ? 'P' : 'e');
  // Let the server's open handlers (subscribe) run before the first message.
  usleep(200000);
  long messages = 0, deliveries = 0, sent = 0;
  Connection *publisher = fanout ? &connections[count] : NULL;
  double start = now(), cpu_start = cpu_seconds(pid), deadline = start + seconds;
  if (fanout) {
    for (; sent < WINDOW; sent++) if (write(publisher->fd, frame, frame_length) != (ssize_t)frame_length) return perror("write"), 1;
  } else {
    for (int i = 0; i < count; i++) if (write(connections[i].fd, frame, frame_length) != (ssize_t)frame_length) return perror("write"), 1;
  }
  struct epoll_event events[256];
  while (now() < deadline) {
    int ready = epoll_wait(epoll, events, 256, 100);
    for (int e = 0; e < ready; e++) {
      Connection *c = &connections[events[e].data.u32];
      if (read_into(c) != 0) return 1;
      long frames = take_frames(c);
      deliveries += frames;
      c->received += frames;
      if (!fanout) {
        messages += frames;
        for (long k = 0; k < frames; k++) if (write(c->fd, frame, frame_length) != (ssize_t)frame_length) return perror("write"), 1;
      }
    }
    if (fanout) {
      long least = connections[0].received;
      for (int i = 1; i < count; i++) if (connections[i].received < least) least = connections[i].received;
      messages = least;
      while (sent - least < WINDOW) {
        if (write(publisher->fd, frame, frame_length) != (ssize_t)frame_length) return perror("write"), 1;
        sent++;
      }
    }
  }
  double elapsed = now() - start, cpu = cpu_seconds(pid) - cpu_start;
  printf("{\"messages\": %ld, \"deliveries\": %ld, \"seconds\": %.4f, \"serverCpuSeconds\": %.4f}\n", messages, deliveries, elapsed, cpu);
  for (int i = 0; i < total; i++) close(connections[i].fd);
  return 0;
}

#define _GNU_SOURCE
/*
 * C floor for the WebSocket benchmark: a single-threaded epoll server that does the least a WebSocket
 * server must per message: read, unmask, frame the payload again, write. Its handshake is canned: it
 * answers only the key the load generator sends (bench/c/ws-load.c), with that key's accept value, so it
 * needs no SHA-1. A text message starting with "P" is written to every other connection (the fan-out).
 *   ws-floor PORT        stops on SIGTERM/SIGINT
 * Build: cc -O2 -o ws-floor ws-floor.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTIONS_MAX 20000
#define BUFFER_BYTES 65536

typedef struct {
  int open, upgraded;
  size_t have;
  unsigned char in[BUFFER_BYTES];
} Connection;

static Connection *connections[CONNECTIONS_MAX];
static volatile sig_atomic_t running = 1;
static void stop(int signal) { (void)signal; running = 0; }

static const char REPLY[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

static void drop(int epoll, int fd) {
  epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  connections[fd]->open = 0;
}

/* Handles the whole frames buffered on `fd`: echo, or publish to every other socket. @returns 0, or -1 to drop */
static int frames(int fd, unsigned char *out) {
  Connection *c = connections[fd];
  size_t at = 0, used = 0;
  for (;;) {
    if (c->have - at < 6) break;
    unsigned char *p = c->in + at;
    size_t length = p[1] & 0x7f, head = 2;
    if (length == 126) { if (c->have - at < 8) break; length = (p[2] << 8) | p[3]; head = 4; }
    else if (length == 127) return -1;
    if (c->have - at < head + 4 + length) break;
    unsigned char *mask = p + head, *payload = p + head + 4;
    size_t out_head = length < 126 ? 2 : 4;
    unsigned char *frame = out + used;
    frame[0] = 0x80 | (p[0] & 0x0f);
    if (length < 126) frame[1] = length;
    else { frame[1] = 126; frame[2] = length >> 8; frame[3] = length & 0xff; }
    for (size_t i = 0; i < length; i++) frame[out_head + i] = payload[i] ^ mask[i & 3];
    if ((p[0] & 0x0f) == 1 && length > 0 && frame[out_head] == 'P') {
      for (int other = 0; other < CONNECTIONS_MAX; other++)
        if (other != fd && connections[other] && connections[other]->open && connections[other]->upgraded) (void)!write(other, frame, out_head + length);
    } else {
      used += out_head + length;
    }
    at += head + 4 + length;
  }
  memmove(c->in, c->in + at, c->have - at);
  c->have -= at;
  if (used > 0 && write(fd, out, used) < 0 && errno != EAGAIN) return -1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s PORT\n", argv[0]), 2;
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGPIPE, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) return perror("bind"), 1;
  listen(listener, 4096);
  int epoll = epoll_create1(0);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
  static unsigned char out[BUFFER_BYTES * 2];
  struct epoll_event events[256];
  while (running) {
    int ready = epoll_wait(epoll, events, 256, 200);
    for (int e = 0; e < ready; e++) {
      int fd = events[e].data.fd;
      if (fd == listener) {
        int client;
        while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (client >= CONNECTIONS_MAX) { close(client); continue; }
          if (!connections[client]) connections[client] = malloc(sizeof(Connection));
          connections[client]->open = 1;
          connections[client]->upgraded = 0;
          connections[client]->have = 0;
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event add = {.events = EPOLLIN, .data.fd = client};
          epoll_ctl(epoll, EPOLL_CTL_ADD, client, &add);
        }
        continue;
      }
      Connection *c = connections[fd];
      ssize_t got = read(fd, c->in + c->have, BUFFER_BYTES - c->have);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        drop(epoll, fd);
        continue;
      }
      c->have += got;
      if (!c->upgraded) {
        unsigned char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
        if (!end) continue;
        if (!memmem(c->in, end - c->in, "dGhlIHNhbXBsZSBub25jZQ==", 24)) { drop(epoll, fd); continue; }
        (void)!write(fd, REPLY, sizeof REPLY - 1);
        c->upgraded = 1;
        size_t rest = c->have - (end + 4 - c->in);
        memmove(c->in, end + 4, rest);
        c->have = rest;
      }
      if (frames(fd, out) != 0) drop(epoll, fd);
    }
  }
  return 0;
}

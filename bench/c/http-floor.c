#define _GNU_SOURCE
/*
 * C floor for the HTTP benchmark: a single-threaded epoll loop that answers every request with one canned
 * "Hello, World!" reply. It parses nothing: it counts the "\r\n\r\n" that end requests in each read (a
 * request split across reads is carried over by its last three bytes) and writes that many replies in one
 * write. No server can do less per request, so the others are measured against it.
 *   http-floor PORT
 * Build: cc -O2 -o http-floor http-floor.c
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

#define FDS_MAX 65536
static volatile sig_atomic_t running = 1;
static void stop(int signal) { (void)signal; running = 0; }
static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!";
/* The last bytes of the previous read on each fd, to find an end of request split across reads. */
static unsigned int tail[FDS_MAX];

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s PORT\n", argv[0]), 2;
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  // A client that closes while a reply is on its way must not kill the server (EPIPE is enough).
  signal(SIGPIPE, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) return perror("bind"), 1;
  listen(listener, 511);
  int poll = epoll_create1(0);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(poll, EPOLL_CTL_ADD, listener, &event);
  static char buffer[65536];
  static char out[65536 * 2];
  size_t reply_length = sizeof reply - 1;
  struct epoll_event events[256];
  while (running) {
    int ready = epoll_wait(poll, events, 256, 200);
    for (int i = 0; i < ready; i++) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = accept4(listener, 0, 0, SOCK_NONBLOCK)) >= 0) {
          if (client >= FDS_MAX) { close(client); continue; }
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          tail[client] = 0;
          struct epoll_event add = {.events = EPOLLIN, .data.fd = client};
          epoll_ctl(poll, EPOLL_CTL_ADD, client, &add);
        }
        continue;
      }
      ssize_t n = read(fd, buffer, sizeof buffer);
      if (n <= 0) {
        if (n < 0 && errno == EAGAIN) continue;
        close(fd);
        continue;
      }
      unsigned int last = tail[fd];
      size_t requests = 0;
      for (ssize_t j = 0; j < n; j++) {
        last = (last << 8) | (unsigned char)buffer[j];
        if (last == 0x0d0a0d0a) requests++;
      }
      tail[fd] = last;
      size_t length = 0;
      for (size_t r = 0; r < requests && length + reply_length <= sizeof out; r++, length += reply_length) memcpy(out + length, reply, reply_length);
      ssize_t written = 0;
      while (written < (ssize_t)length) {
        ssize_t w = write(fd, out + written, length - written);
        if (w < 0) { if (errno == EAGAIN) continue; break; }
        written += w;
      }
    }
  }
  return 0;
}

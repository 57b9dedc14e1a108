#define _GNU_SOURCE
/*
 * C reference for the TCP benchmark: a single-threaded epoll echo server on 127.0.0.1.
 *   epoll-echo PORT      (or epoll-echo unix PATH)
 * Reads into one static buffer and writes back what it read; stops on SIGTERM/SIGINT.
 * Build: cc -O2 -o epoll-echo epoll-echo.c
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
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t running = 1;
static void stop(int signal) { (void)signal; running = 0; }

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s PORT | unix PATH\n", argv[0]), 2;
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  // A client that closes while a reply is on its way must not kill the server (EPIPE is enough).
  signal(SIGPIPE, SIG_IGN);
  int unix_socket = strcmp(argv[1], "unix") == 0;
  int listener = socket(unix_socket ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (unix_socket) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, argv[2], sizeof address.sun_path - 1);
    unlink(argv[2]);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) return perror("bind"), 1;
  } else {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) return perror("bind"), 1;
  }
  listen(listener, 128);
  int poll = epoll_create1(0);
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(poll, EPOLL_CTL_ADD, listener, &event);
  printf("ready\n");
  fflush(stdout);
  static char buffer[65536];
  struct epoll_event events[256];
  while (running) {
    int ready = epoll_wait(poll, events, 256, 200);
    for (int i = 0; i < ready; i++) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = accept4(listener, 0, 0, SOCK_NONBLOCK)) >= 0) {
          if (!unix_socket) setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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
      ssize_t written = 0;
      while (written < n) {
        ssize_t w = write(fd, buffer + written, n - written);
        if (w < 0) { if (errno == EAGAIN) continue; break; }
        written += w;
      }
    }
  }
  if (unix_socket) unlink(argv[2]);
  return 0;
}

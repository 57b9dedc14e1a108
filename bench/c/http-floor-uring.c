#define _GNU_SOURCE
/*
 * C io_uring floor for the HTTP benchmark: the same canned "Hello, World!" reply as http-floor.c (it
 * parses nothing: it counts the "\r\n\r\n" that end requests in each receive, carrying a split one over by
 * its last three bytes, and sends that many replies at once), served through io_uring instead of epoll.
 * Raw system calls (io_uring_setup/enter by number, the rings mmapped by hand), so it builds wherever the
 * kernel headers are, with no liburing.
 *
 * The shape that measured best on kernel 6.18 (docs/architecture.md, "io_uring"): multishot accept; per
 * connection one RECV into its own buffer → one SEND of the replies → the next RECV; the ring set up with
 * SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN (falling back to COOP_TASKRUN, then none, said on stderr);
 * one io_uring_enter per turn that submits every SQE the last turn queued and waits for at least one
 * completion (liburing's io_uring_submit_and_wait(ring, 1)). Without DEFER_TASKRUN the same loop cost 1.77×
 * the epoll floor's CPU per request; with it, 0.87×.
 *   http-floor-uring PORT
 *   http-floor-uring --probe     exits 0 when io_uring can be set up here, else 1 saying why on stderr
 * Build: cc -O2 -o http-floor-uring http-floor-uring.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif
#ifndef IORING_ACCEPT_MULTISHOT
#define IORING_ACCEPT_MULTISHOT (1U << 0)
#endif

#define FDS_MAX 65536
#define SQ_ENTRIES 1024
#define IN_BYTES 65536
#define OUT_BYTES (65536 * 2)
enum { ACCEPT = 1, RECV = 2, SEND = 3 };

static volatile sig_atomic_t running = 1;
static void stop(int signal) { (void)signal; running = 0; }
static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!";

/* One connection: its receive buffer, its replies (alive until the SEND completes), the bytes still to go. */
struct connection {
  unsigned int tail;
  size_t out_length, out_sent;
  char in[IN_BYTES];
  char out[OUT_BYTES];
};
static struct connection *connections[FDS_MAX];

static int ring_fd;
static unsigned *sq_head, *sq_tail, sq_mask, *cq_head, *cq_tail, cq_mask;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;
static unsigned local_tail, submitted_tail;

static int enter(unsigned submit, unsigned complete, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, ring_fd, submit, complete, flags, NULL, 0);
}

/* The next SQE, zeroed; when the SQ is full its entries are submitted first. */
static struct io_uring_sqe *next_sqe(int opcode, int fd, uint64_t user_data) {
  if (local_tail - atomic_load_explicit((_Atomic unsigned *)sq_head, memory_order_acquire) == SQ_ENTRIES) {
    atomic_store_explicit((_Atomic unsigned *)sq_tail, local_tail, memory_order_release);
    enter(local_tail - submitted_tail, 0, 0);
    submitted_tail = local_tail;
  }
  struct io_uring_sqe *sqe = &sqes[local_tail & sq_mask];
  local_tail++;
  memset(sqe, 0, sizeof *sqe);
  sqe->opcode = opcode;
  sqe->fd = fd;
  sqe->user_data = user_data;
  return sqe;
}

static void prep_recv(int fd) {
  struct io_uring_sqe *sqe = next_sqe(IORING_OP_RECV, fd, ((uint64_t)fd << 2) | RECV);
  sqe->addr = (uint64_t)(uintptr_t)connections[fd]->in;
  sqe->len = IN_BYTES;
}

static void prep_send(int fd) {
  struct connection *c = connections[fd];
  struct io_uring_sqe *sqe = next_sqe(IORING_OP_SEND, fd, ((uint64_t)fd << 2) | SEND);
  sqe->addr = (uint64_t)(uintptr_t)(c->out + c->out_sent);
  sqe->len = (unsigned)(c->out_length - c->out_sent);
  sqe->msg_flags = MSG_NOSIGNAL;
}

static void prep_accept(int listener) {
  struct io_uring_sqe *sqe = next_sqe(IORING_OP_ACCEPT, listener, ACCEPT);
  sqe->ioprio = IORING_ACCEPT_MULTISHOT;
}

static void drop(int fd) {
  free(connections[fd]);
  connections[fd] = NULL;
  close(fd);
}

/* The ring's fd, set up with the preferred flags or the first fallback the kernel accepts; -1 and errno if none. */
static int setup(struct io_uring_params *params) {
  static const unsigned preferred[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  for (unsigned i = 0; i < sizeof preferred / sizeof preferred[0]; i++) {
    memset(params, 0, sizeof *params);
    params->flags = preferred[i] | IORING_SETUP_CQSIZE;
    params->cq_entries = SQ_ENTRIES * 4;
    int fd = (int)syscall(__NR_io_uring_setup, SQ_ENTRIES, params);
    if (fd >= 0 && i > 0) fprintf(stderr, "http-floor-uring: the kernel refused the preferred setup flags; running with 0x%x\n", preferred[i]);
    if (fd >= 0 || errno != EINVAL) return fd;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s PORT | --probe\n", argv[0]), 2;
  struct io_uring_params params;
  if (strcmp(argv[1], "--probe") == 0) {
    int fd = setup(&params);
    if (fd >= 0) return close(fd), 0;
    if (errno == ENOSYS) fprintf(stderr, "io_uring is not in this kernel (ENOSYS)\n");
    else if (errno == EPERM) fprintf(stderr, "io_uring refused by the kernel (EPERM): seccomp or kernel.io_uring_disabled\n");
    else fprintf(stderr, "io_uring_setup failed: %s\n", strerror(errno));
    return 1;
  }
  // No SA_RESTART: a signal must end the wait in io_uring_enter (EINTR) so the loop sees `running`.
  struct sigaction action = {.sa_handler = stop};
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  signal(SIGPIPE, SIG_IGN);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) return perror("bind"), 1;
  listen(listener, 511);

  ring_fd = setup(&params);
  if (ring_fd < 0) return perror("io_uring_setup"), 1;

  size_t sq_bytes = params.sq_off.array + params.sq_entries * sizeof(unsigned);
  size_t cq_bytes = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
  if (params.features & IORING_FEAT_SINGLE_MMAP) sq_bytes = cq_bytes = sq_bytes > cq_bytes ? sq_bytes : cq_bytes;
  char *sq = mmap(NULL, sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQ_RING);
  char *cq = (params.features & IORING_FEAT_SINGLE_MMAP) ? sq : mmap(NULL, cq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_CQ_RING);
  sqes = mmap(NULL, params.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return perror("mmap"), 1;
  sq_head = (unsigned *)(sq + params.sq_off.head);
  sq_tail = (unsigned *)(sq + params.sq_off.tail);
  sq_mask = *(unsigned *)(sq + params.sq_off.ring_mask);
  unsigned *array = (unsigned *)(sq + params.sq_off.array);
  for (unsigned i = 0; i < params.sq_entries; i++) array[i] = i;
  cq_head = (unsigned *)(cq + params.cq_off.head);
  cq_tail = (unsigned *)(cq + params.cq_off.tail);
  cq_mask = *(unsigned *)(cq + params.cq_off.ring_mask);
  cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
  local_tail = submitted_tail = *sq_tail;

  size_t reply_length = sizeof reply - 1;
  prep_accept(listener);
  while (running) {
    // One enter per turn: submit what the last turn queued, wait for a completion.
    atomic_store_explicit((_Atomic unsigned *)sq_tail, local_tail, memory_order_release);
    int entered = enter(local_tail - submitted_tail, 1, IORING_ENTER_GETEVENTS);
    if (entered < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY && errno != ETIME) return perror("io_uring_enter"), 1;
    if (entered >= 0) submitted_tail = local_tail;
    unsigned head = *cq_head;
    unsigned tail = atomic_load_explicit((_Atomic unsigned *)cq_tail, memory_order_acquire);
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &cqes[head & cq_mask];
      uint64_t user_data = cqe->user_data;
      int result = cqe->res;
      unsigned flags = cqe->flags;
      int fd = (int)(user_data >> 2);
      switch (user_data & 3) {
      case ACCEPT:
        if (!(flags & IORING_CQE_F_MORE)) prep_accept(listener);
        if (result < 0) break;
        if (result >= FDS_MAX || !(connections[result] = malloc(sizeof(struct connection)))) { close(result); break; }
        setsockopt(result, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connections[result]->tail = 0;
        prep_recv(result);
        break;
      case RECV: {
        if (result <= 0) { drop(fd); break; }
        struct connection *c = connections[fd];
        unsigned last = c->tail;
        size_t requests = 0;
        for (int j = 0; j < result; j++) {
          last = (last << 8) | (unsigned char)c->in[j];
          if (last == 0x0d0a0d0a) requests++;
        }
        c->tail = last;
        size_t length = 0;
        for (size_t r = 0; r < requests && length + reply_length <= OUT_BYTES; r++, length += reply_length) memcpy(c->out + length, reply, reply_length);
        if (length == 0) { prep_recv(fd); break; }
        c->out_length = length;
        c->out_sent = 0;
        prep_send(fd);
        break;
      }
      case SEND: {
        if (result < 0) { drop(fd); break; }
        struct connection *c = connections[fd];
        c->out_sent += (size_t)result;
        if (c->out_sent < c->out_length) prep_send(fd);
        else prep_recv(fd);
        break;
      }
      }
    }
    atomic_store_explicit((_Atomic unsigned *)cq_head, head, memory_order_release);
  }
  return 0;
}

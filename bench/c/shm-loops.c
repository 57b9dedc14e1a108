/*
 * The C reference's loops, as functions: the ping-pong (one fixed slot and one flag word each way) and the
 * one-way stream (an SPSC ring of 16-byte records: a length word and 11 bytes, published every BATCH),
 * as bench/c/shm-reference.c measures them in its own two processes. Built as a shared library too
 * (cc -O2 -shared -fPIC -o shm-loops.so shm-loops.c), so that the shm bench (bench/load/shm-pingpong.ts,
 * shm-stream.ts) and `wirespeed shm client` (src/cli/shm-turns.ts) can run them in the same two processes as
 * the wirespeed channel, taking turns with it: this machine changes speed within milliseconds, and only
 * turns run at the same moments compare.
 *
 * The memory each takes is zeroed before the first call; sequence numbers run on from `from` across calls.
 *
 * The loops wait by spinning, with no way out: a peer that dies mid-loop leaves them spinning for ever,
 * deaf to the process's signals (a long-running `wirespeed shm server` among them). `guarded_call()` below
 * gives up on them from outside, so that the loops stay exactly what the reference measures: a give-up
 * test inside the spin (a counter, or the clock) changed how they contend for the cache line, and measured
 * the stream up to twice slower.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* timer_create and SIGEV_THREAD_ID, for guarded_call() */
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define PINGPONG_SIZE 11

/* The ping-pong's 256 bytes: ping at 0, pong at 64, the message at 128, the reply at 192. */
struct pingpong_slots {
  _Alignas(64) _Atomic uint32_t ping;
  _Alignas(64) _Atomic uint32_t pong;
  _Alignas(64) uint8_t a[64];
  _Alignas(64) uint8_t b[64];
};

/** The answering side: copies `count` messages into replies. */
void pingpong_serve(void *slots, uint32_t from, uint32_t count) {
  struct pingpong_slots *s = slots;
  uint8_t message[PINGPONG_SIZE];
  for (uint32_t i = from; i < from + count; i++) {
    while (atomic_load_explicit(&s->ping, memory_order_acquire) != i) {}
    memcpy(message, s->a, PINGPONG_SIZE);
    memcpy(s->b, message, PINGPONG_SIZE);
    atomic_store_explicit(&s->pong, i, memory_order_release);
  }
}

/** The measuring side: `count` roundtrips, each reply checked. Returns the wrong replies. */
uint32_t pingpong_call(void *slots, uint32_t from, uint32_t count) {
  struct pingpong_slots *s = slots;
  uint8_t message[PINGPONG_SIZE] = {0}, reply[PINGPONG_SIZE];
  uint32_t errors = 0;
  for (uint32_t i = from; i < from + count; i++) {
    memcpy(message, &i, 4);
    memcpy(s->a, message, PINGPONG_SIZE);
    atomic_store_explicit(&s->ping, i, memory_order_release);
    while (atomic_load_explicit(&s->pong, memory_order_acquire) != i) {}
    memcpy(reply, s->b, PINGPONG_SIZE);
    if (memcmp(reply, message, PINGPONG_SIZE) != 0) errors++;
  }
  return errors;
}

#define STREAM_CAPACITY (1u << 20)
#define STREAM_RECORD 16 /* 4-byte length + 11 bytes, padded to 4 */

/* The stream's memory: the producer's head, the consumer's tail, the consumer's count of messages done. */
struct stream_ring {
  _Alignas(64) _Atomic uint32_t head;
  _Alignas(64) _Atomic uint32_t tail;
  _Alignas(64) _Atomic uint32_t done;
  _Alignas(64) uint8_t ring[STREAM_CAPACITY];
};

/** Sends messages `from` to `from + count - 1` (each carries its number), publishing every `batch`, then
 *  waits until the consumer has read them all. */
void stream_produce(void *memory, uint32_t from, uint32_t count, uint32_t batch) {
  struct stream_ring *s = memory;
  uint8_t message[PINGPONG_SIZE] = {0};
  uint32_t head = atomic_load_explicit(&s->head, memory_order_relaxed), tailSeen = atomic_load_explicit(&s->tail, memory_order_acquire), unpublished = 0;
  for (uint32_t i = from; i < from + count; i++) {
    while (STREAM_CAPACITY - (head - tailSeen) < STREAM_RECORD) tailSeen = atomic_load_explicit(&s->tail, memory_order_acquire);
    uint8_t *at = s->ring + (head & (STREAM_CAPACITY - 1));
    uint32_t length = PINGPONG_SIZE;
    memcpy(at, &length, 4);
    memcpy(message, &i, 4);
    memcpy(at + 4, message, PINGPONG_SIZE);
    head += STREAM_RECORD;
    if (++unpublished >= batch) {
      atomic_store_explicit(&s->head, head, memory_order_release);
      unpublished = 0;
    }
  }
  atomic_store_explicit(&s->head, head, memory_order_release);
  while (atomic_load_explicit(&s->done, memory_order_acquire) != from + count - 1) {}
}

/** Reads `count` messages, checking that each carries the next number from `from`, then says so. Returns
 *  the wrong ones. */
uint32_t stream_consume(void *memory, uint32_t from, uint32_t count) {
  struct stream_ring *s = memory;
  uint8_t message[PINGPONG_SIZE];
  uint32_t errors = 0, tail = atomic_load_explicit(&s->tail, memory_order_relaxed), head = tail;
  for (uint32_t i = from; i < from + count; i++) {
    while (head == tail) head = atomic_load_explicit(&s->head, memory_order_acquire);
    memcpy(message, s->ring + (tail & (STREAM_CAPACITY - 1)) + 4, PINGPONG_SIZE);
    if (*(uint32_t *)message != i) errors++;
    tail += STREAM_RECORD;
    if ((i & 31) == 31 || tail == head) atomic_store_explicit(&s->tail, tail, memory_order_release);
  }
  atomic_store_explicit(&s->tail, tail, memory_order_release);
  atomic_store_explicit(&s->done, from + count - 1, memory_order_release);
  return errors;
}

/*
 * guarded_call(): runs one of the loops above, giving up on it after `seconds` (LOOPS_GAVE_UP) by a timer
 * that signals this thread, whose handler jumps back out of the loop (which holds no lock and owns no
 * memory: nothing is left half-done but the turn). The cost is two timer_settime calls a call, about a
 * microsecond against a turn of a millisecond. Linux only (a timer aimed at a thread); elsewhere the loop
 * runs unguarded.
 */
#define LOOPS_GAVE_UP UINT32_MAX
enum loop { PINGPONG_SERVE, PINGPONG_CALL, STREAM_PRODUCE, STREAM_CONSUME };

#ifdef __linux__
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static __thread sigjmp_buf guard_jump;
static __thread volatile sig_atomic_t guarding;
static __thread int guard_ready;
static __thread timer_t guard_timer;

static void on_guard_timer(int signal) {
  (void)signal;
  if (guarding) siglongjmp(guard_jump, 1);
}

/** This thread's timer and its signal's handler, made once: 0, or -1 when they cannot be. */
static int guard_setup(void) {
  if (guard_ready) return guard_ready > 0 ? 0 : -1;
  struct sigaction action = {0};
  action.sa_handler = on_guard_timer;
  sigemptyset(&action.sa_mask);
  struct sigevent event = {0};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = SIGALRM;
  event.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
  guard_ready = sigaction(SIGALRM, &action, 0) == 0 && timer_create(CLOCK_MONOTONIC, &event, &guard_timer) == 0 ? 1 : -1;
  return guard_ready > 0 ? 0 : -1;
}

static void guard_arm(uint32_t seconds) {
  struct itimerspec when = {.it_value = {.tv_sec = seconds}};
  timer_settime(guard_timer, 0, &when, 0);
}
#endif

static uint32_t run_loop(enum loop loop, void *memory, uint32_t from, uint32_t count, uint32_t batch) {
  switch (loop) {
    case PINGPONG_SERVE: return pingpong_serve(memory, from, count), 0;
    case PINGPONG_CALL: return pingpong_call(memory, from, count);
    case STREAM_PRODUCE: return stream_produce(memory, from, count, batch), 0;
    default: return stream_consume(memory, from, count);
  }
}

/** Runs `loop` (its result: 0, or the wrong messages it counted), or gives up after `seconds`: LOOPS_GAVE_UP. */
uint32_t guarded_call(uint32_t loop, void *memory, uint32_t from, uint32_t count, uint32_t batch, uint32_t seconds) {
#ifdef __linux__
  if (guard_setup() == 0) {
    if (sigsetjmp(guard_jump, 1) != 0) {
      guarding = 0;
      return LOOPS_GAVE_UP;
    }
    guarding = 1;
    guard_arm(seconds);
    uint32_t result = run_loop(loop, memory, from, count, batch);
    guarding = 0;
    guard_arm(0);
    return result;
  }
#endif
  (void)seconds;
  return run_loop(loop, memory, from, count, batch);
}

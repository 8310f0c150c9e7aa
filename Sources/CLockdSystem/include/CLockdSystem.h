// Thin wrappers for Linux calls that Glibc's Swift module does not expose
// (epoll, eventfd, accept4) and for constants it imports badly.
#ifndef CLOCKD_SYSTEM_H
#define CLOCKD_SYSTEM_H

#ifdef __linux__
#include <sys/epoll.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdint.h>

static inline int clockd_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int clockd_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

// The calls made per request (read, send, epoll_wait, poll) go to the
// kernel through syscall(2), not glibc's wrappers: those are cancellation
// points, which switch asynchronous cancellation on and off around the call
// (~30 instructions a call, six calls or more a lock request), and lockd
// never cancels a thread. Results and errno are as the wrappers give them.
extern long syscall(long number, ...);

/// read(2), without the cancellation point.
static inline long clockd_read(int fd, void *buffer, size_t count) { return syscall(SYS_read, fd, buffer, count); }

/// send(2) (sendto without an address, as glibc makes it), without the cancellation point.
static inline long clockd_send(int fd, const void *buffer, size_t count, int flags) {
    return syscall(SYS_sendto, fd, buffer, count, flags, NULL, 0);
}

/// Waits for events and writes each one's (events, data) pair into the two arrays.
static inline int clockd_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event buf[256];
    if (max > 256) max = 256;
#ifdef SYS_epoll_wait
    int n = (int)syscall(SYS_epoll_wait, epfd, buf, max, timeout_ms);
#else
    int n = (int)syscall(SYS_epoll_pwait, epfd, buf, max, timeout_ms, NULL, 8);
#endif
    for (int i = 0; i < n; i++) { events[i] = buf[i].events; data[i] = buf[i].data.u64; }
    return n;
}

static inline int clockd_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

// Declared by hand: defining _GNU_SOURCE here would make these headers
// disagree with the Glibc module Swift imports.
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

static inline int clockd_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

static inline int clockd_socket(int domain) { return socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

static inline int clockd_errno(void) { return errno; }

// Declared by hand, as accept4 above (glibc's takes a cpu_set_t *).
extern int sched_getaffinity(pid_t pid, size_t size, void *mask);

/* CPUs in the calling thread's affinity mask (the first 1024), or -1. */
static inline int clockd_affinity_count(void) {
    unsigned long mask[1024 / (8 * sizeof(unsigned long))];
    if (sched_getaffinity(0, sizeof mask, mask) != 0) return -1;
    int count = 0;
    for (unsigned i = 0; i < sizeof mask / sizeof mask[0]; i++) count += __builtin_popcountl(mask[i]);
    return count;
}

/* 1 when the peer has closed the connection (its FIN, or a reset, waits to
   be read, whatever data comes before it), 0 when not, -1 on error: asked
   without reading or waiting. POLLRDHUP is Linux's, behind _GNU_SOURCE (see
   accept4): its value is EPOLLRDHUP's. */
static inline int clockd_peer_closed(int fd) {
    struct pollfd entry = { .fd = fd, .events = EPOLLRDHUP, .revents = 0 };
#ifdef SYS_poll
    if (syscall(SYS_poll, &entry, 1, 0) < 0) return -1;
#else
    struct timespec now = { 0, 0 };
    if (syscall(SYS_ppoll, &entry, 1, &now, NULL, 8) < 0) return -1;
#endif
    return (entry.revents & (EPOLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* CLOCK_MONOTONIC in nanoseconds (MonotonicClock.now). Read here rather than
   in Swift: Swift's wrapper around clock_gettime spent ~25 instructions a
   reading on a stack protector for its timespec and on checks that the
   seconds and nanoseconds are not negative, which CLOCK_MONOTONIC's never
   are; a Redis lock request reads the clock ~11 times. */
static inline uint64_t clockd_monotonic_ns(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (uint64_t)spec.tv_sec * 1000000000u + (uint64_t)spec.tv_nsec;
}

/* Names the calling thread (prctl is variadic, which Swift cannot call); Linux keeps 15 bytes. */
static inline int clockd_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

static const uint32_t CLOCKD_EPOLLIN = EPOLLIN;
static const uint32_t CLOCKD_EPOLLOUT = EPOLLOUT;
static const uint32_t CLOCKD_EPOLLERR = EPOLLERR;
static const uint32_t CLOCKD_EPOLLHUP = EPOLLHUP;
static const uint32_t CLOCKD_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t CLOCKD_EPOLLET = EPOLLET;
static const int CLOCKD_MSG_NOSIGNAL = MSG_NOSIGNAL;
#endif

#endif

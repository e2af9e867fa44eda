/*
 * ugate splice shim — see ugate_splice.h for the contract.
 *
 * One engine thread owns every pair: commands from the control thread (add, close, close all,
 * stop) go through a mutex-protected queue and an eventfd; finished pairs go back as event
 * records through another queue and a pipe the runtime polls. Sockets are registered once,
 * edge-triggered, for input and output; each event services both directions of its pair until
 * the kernel says EAGAIN, with a per-pass budget so one fast pair cannot starve the others.
 * A direction holds a pipe only while bytes are in flight, so idle connections cost two
 * descriptors, not six.
 */
#define _GNU_SOURCE
#include "ugate_splice.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EPOLL_BATCH 128
/* bytes one direction may move in one service pass before yielding to other pairs */
#define BUDGET_PIPES 16
#define THREAD_STACK (128 * 1024)
/* Smallest read while the destination is slow: a stalled pair pins at most this much in its
 * pipe, not the whole capacity (which only a fast destination gets to use). */
#define MIN_CHUNK (64 * 1024)

struct pair;

/* One socket of a pair, as registered with epoll. */
struct end {
    struct pair *pair;
    int fd;
    uint32_t reset_reason; /* reason when this side fails */
};

/* One direction: bytes from `src` to `dst`. */
struct dir {
    struct end *src, *dst;
    int pipe_r, pipe_w; /* -1 while no bytes are in flight */
    uint32_t in_pipe;
    uint32_t chunk; /* bytes asked of src per splice: shrinks while dst is the slower side */
    uint8_t *prefix; /* written to dst before any spliced byte */
    uint32_t prefix_len, prefix_off;
    uint64_t bytes;
    bool src_eof, dst_shut;
};

struct pair {
    uint32_t id;
    uint32_t idle_ms;
    uint64_t start_ms, last_ms;
    struct end client, upstream;
    struct dir up, down; /* up: client -> upstream; down: upstream -> client */
    struct pair *prev, *next; /* live list */
    struct pair *ready_next;  /* pairs that used up their budget and want another pass */
    bool ready, closed;
};

enum cmd_kind { CMD_ADD, CMD_CLOSE, CMD_CLOSE_ALL };

struct cmd {
    enum cmd_kind kind;
    uint32_t id;
    struct pair *pair;
    struct cmd *next;
};

struct ugs_engine {
    int epfd;
    int ctl_fd;              /* eventfd: commands queued */
    int notify_r, notify_w;  /* pipe: events queued */
    uint32_t pipe_size, pool_max;
    pthread_t thread;

    /* shared with the control thread, under lock */
    pthread_mutex_t lock;
    struct cmd *cmd_head, *cmd_tail;
    bool stop;
    uint8_t *events;
    uint32_t events_len, events_cap; /* records */
    bool notify_pending;
    uint64_t stat[UGS_STAT_COUNT];
    /* bytes moved so far each way (up, down), added by the engine thread as they move and read by
     * ugs_stats without the lock: 32-bit atomics, lock-free on every target (no libatomic) */
    uint32_t moved[2];

    /* engine thread only */
    struct pair *live;
    struct pair *ready_head;
    struct pair *graveyard; /* closed this pass; freed once no epoll event can point at them */
    int *pool;              /* idle pipes: pool[2i] read end, pool[2i+1] write end */
    uint32_t pool_len;
    uint64_t next_deadline; /* earliest possible idle expiry; 0 = none */
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static bool would_block(int err) {
    return err == EAGAIN || err == EWOULDBLOCK;
}

/* ---- pipe pool (engine thread) ---- */

static int pipe_acquire(ugs_engine *e, struct dir *d) {
    if (e->pool_len > 0) {
        e->pool_len--;
        d->pipe_r = e->pool[2 * e->pool_len];
        d->pipe_w = e->pool[2 * e->pool_len + 1];
    } else {
        int p[2];
        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) return -errno;
        /* A bigger pipe means fewer splice calls per megabyte; refusal (pipe-max-size, per-user
         * limits) leaves the kernel default, which still works. */
        (void)fcntl(p[0], F_SETPIPE_SZ, (int)e->pipe_size);
        d->pipe_r = p[0];
        d->pipe_w = p[1];
        pthread_mutex_lock(&e->lock);
        e->stat[UGS_STAT_PIPES_OPEN]++;
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_lock(&e->lock);
    e->stat[UGS_STAT_PIPES_POOLED] = e->pool_len;
    pthread_mutex_unlock(&e->lock);
    return 0;
}

/* An empty pipe goes back to the pool; one holding bytes (a pair closed mid-flight) is closed. */
static void pipe_release(ugs_engine *e, struct dir *d) {
    if (d->pipe_r < 0) return;
    if (d->in_pipe == 0 && e->pool_len < e->pool_max) {
        e->pool[2 * e->pool_len] = d->pipe_r;
        e->pool[2 * e->pool_len + 1] = d->pipe_w;
        e->pool_len++;
    } else {
        close(d->pipe_r);
        close(d->pipe_w);
        pthread_mutex_lock(&e->lock);
        e->stat[UGS_STAT_PIPES_OPEN]--;
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_lock(&e->lock);
    e->stat[UGS_STAT_PIPES_POOLED] = e->pool_len;
    pthread_mutex_unlock(&e->lock);
    d->pipe_r = d->pipe_w = -1;
    d->in_pipe = 0;
}

/* ---- events to the control thread ---- */

static void notify(ugs_engine *e) {
    /* called under lock; one byte wakes the poller, more would only fill the pipe */
    if (e->notify_pending) return;
    e->notify_pending = true;
    uint8_t b = 1;
    ssize_t n;
    do n = write(e->notify_w, &b, 1);
    while (n < 0 && errno == EINTR);
}

static void push_event(ugs_engine *e, struct pair *p, uint32_t reason, int err, uint64_t now) {
    pthread_mutex_lock(&e->lock);
    if (e->events_len == e->events_cap) {
        uint32_t cap = e->events_cap ? e->events_cap * 2 : 64;
        uint8_t *grown = realloc(e->events, (size_t)cap * UGS_EVENT_SIZE);
        if (grown) {
            e->events = grown;
            e->events_cap = cap;
        }
    }
    /* Out of memory loses the record, never the close: the counters below still add up. */
    if (e->events_len < e->events_cap) {
        uint8_t *r = e->events + (size_t)e->events_len * UGS_EVENT_SIZE;
        uint64_t dur = now - p->start_ms;
        put_le32(r, p->id);
        put_le32(r + 4, reason);
        put_le64(r + 8, p->up.bytes);
        put_le64(r + 16, p->down.bytes);
        put_le32(r + 24, dur > UINT32_MAX ? UINT32_MAX : (uint32_t)dur);
        put_le32(r + 28, (uint32_t)err);
        e->events_len++;
        e->stat[UGS_STAT_EVENTS_QUEUED] = e->events_len;
        notify(e);
    }
    e->stat[UGS_STAT_ACTIVE]--;
    e->stat[UGS_STAT_BYTES_UP] += p->up.bytes;
    e->stat[UGS_STAT_BYTES_DOWN] += p->down.bytes;
    pthread_mutex_unlock(&e->lock);
}

/* ---- pairs (engine thread) ---- */

static void close_socket(int fd, bool reset) {
    if (reset) {
        /* linger 0: close sends RST, so the peer learns the connection failed, not that it ended */
        struct linger lg = {1, 0};
        (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(fd);
}

static void count_moved(ugs_engine *e, struct pair *p, struct dir *d, ssize_t n) {
    __atomic_fetch_add(&e->moved[d == &p->up ? 0 : 1], (uint32_t)n, __ATOMIC_RELAXED);
}

/* Best effort: bytes already taken from the failed side are handed to the other side's kernel
 * before that side is reset; whatever the RST overtakes is lost, as with any reset. */
static void flush_pipe(ugs_engine *e, struct pair *p, struct dir *d) {
    while (d->in_pipe > 0) {
        ssize_t n = splice(d->pipe_r, NULL, d->dst->fd, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n <= 0) break;
        d->in_pipe -= (uint32_t)n;
        d->bytes += (uint64_t)n;
        count_moved(e, p, d, n);
    }
}

/* Closes both sockets exactly once and reports. with_event = false only at engine teardown. */
static void pair_close(ugs_engine *e, struct pair *p, uint32_t reason, int err, bool with_event) {
    if (p->closed) return;
    p->closed = true;
    if (p->ready) {
        /* a pair waiting for another pass must not be visited after it is freed */
        for (struct pair **q = &e->ready_head; *q; q = &(*q)->ready_next) {
            if (*q == p) {
                *q = p->ready_next;
                p->ready = false;
                break;
            }
        }
    }
    bool client_failed = reason == UGS_CLIENT_RESET || reason == UGS_CLIENT_CLOSED;
    bool upstream_failed = reason == UGS_UPSTREAM_RESET || reason == UGS_UPSTREAM_CLOSED;
    if (client_failed) flush_pipe(e, p, &p->up);
    if (upstream_failed) flush_pipe(e, p, &p->down);
    (void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, p->client.fd, NULL);
    (void)epoll_ctl(e->epfd, EPOLL_CTL_DEL, p->upstream.fd, NULL);
    /* A reset on one side is passed on as a reset, so a truncated stream cannot look complete;
     * so is every end that ugate chose before both directions finished (idle timeout, close at
     * the end of the grace period, a local failure such as no pipe), which cuts them short. */
    bool cut = reason == UGS_ERROR || reason == UGS_IDLE_TIMEOUT || reason == UGS_CLOSED;
    close_socket(p->client.fd, cut || upstream_failed);
    close_socket(p->upstream.fd, cut || client_failed);
    pipe_release(e, &p->up);
    pipe_release(e, &p->down);
    free(p->up.prefix);
    free(p->down.prefix);
    p->up.prefix = p->down.prefix = NULL;
    if (p->prev) p->prev->next = p->next;
    else e->live = p->next;
    if (p->next) p->next->prev = p->prev;
    if (with_event) push_event(e, p, reason, err, now_ms());
    p->next = e->graveyard;
    e->graveyard = p;
}

/* No byte from fd waits at ugate: nothing to read but, at most, the peer's FIN. */
static bool nothing_to_read(int fd) {
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && would_block(errno));
}

static void pair_fail(ugs_engine *e, struct pair *p, struct end *side, int err) {
    /* A side that fails after it sent its FIN closed its socket once it was done. So did a client
     * that fails with nothing of the upstream's on its way to it: after the upstream's whole
     * stream, or between messages (a TLS client leaving a keep-alive connection with a reset).
     * An upstream that fails before its FIN cut its stream short. */
    uint32_t reason = side->reset_reason;
    if (side == &p->client &&
        (p->up.src_eof || p->down.dst_shut ||
         (p->down.in_pipe == 0 && p->down.prefix_off >= p->down.prefix_len && nothing_to_read(p->upstream.fd))))
        reason = UGS_CLIENT_CLOSED;
    else if (side == &p->upstream && p->down.src_eof) reason = UGS_UPSTREAM_CLOSED;
    pair_close(e, p, reason, err, true);
}

static void touch(struct pair *p, uint64_t now) {
    p->last_ms = now;
}

enum pump_result { PUMP_WAIT, PUMP_MORE, PUMP_CLOSED };

/* Moves bytes for one direction until the kernel blocks, the budget runs out, or it ends. */
static enum pump_result pump(ugs_engine *e, struct pair *p, struct dir *d, uint64_t now) {
    uint64_t moved = 0;
    uint64_t budget = (uint64_t)BUDGET_PIPES * e->pipe_size;

    while (d->prefix_off < d->prefix_len) {
        ssize_t n = send(d->dst->fd, d->prefix + d->prefix_off, d->prefix_len - d->prefix_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) return PUMP_WAIT;
            pair_fail(e, p, d->dst, errno);
            return PUMP_CLOSED;
        }
        d->prefix_off += (uint32_t)n;
        d->bytes += (uint64_t)n;
        count_moved(e, p, d, n);
        touch(p, now);
    }
    if (d->prefix) {
        free(d->prefix);
        d->prefix = NULL;
    }

    for (;;) {
        if (d->in_pipe > 0) {
            ssize_t n = splice(d->pipe_r, NULL, d->dst->fd, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (would_block(errno)) {
                    if (d->chunk / 2 >= MIN_CHUNK) d->chunk /= 2;
                    return PUMP_WAIT;
                }
                pair_fail(e, p, d->dst, errno);
                return PUMP_CLOSED;
            }
            if ((uint32_t)n == d->in_pipe && d->chunk < e->pipe_size) d->chunk = d->chunk * 2 > e->pipe_size ? e->pipe_size : d->chunk * 2;
            d->in_pipe -= (uint32_t)n;
            d->bytes += (uint64_t)n;
            count_moved(e, p, d, n);
            moved += (uint64_t)n;
            touch(p, now);
            continue;
        }
        if (d->src_eof) {
            if (!d->dst_shut) {
                d->dst_shut = true;
                (void)shutdown(d->dst->fd, SHUT_WR); /* ENOTCONN after a peer reset: reported by the other direction */
            }
            pipe_release(e, d);
            return PUMP_WAIT;
        }
        if (moved >= budget) return PUMP_MORE;
        if (d->pipe_r < 0) {
            int r = pipe_acquire(e, d);
            if (r < 0) {
                pair_close(e, p, UGS_ERROR, -r, true);
                return PUMP_CLOSED;
            }
        }
        ssize_t n = splice(d->src->fd, NULL, d->pipe_w, NULL, d->chunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0) {
            d->src_eof = true;
            touch(p, now);
            continue;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) {
                pipe_release(e, d); /* empty: lend it to another pair until bytes arrive */
                return PUMP_WAIT;
            }
            pair_fail(e, p, d->src, errno);
            return PUMP_CLOSED;
        }
        d->in_pipe = (uint32_t)n;
    }
}

static void mark_ready(ugs_engine *e, struct pair *p) {
    if (p->ready) return;
    p->ready = true;
    p->ready_next = e->ready_head;
    e->ready_head = p;
}

static void service(ugs_engine *e, struct pair *p, uint64_t now) {
    if (p->closed) return;
    enum pump_result a = pump(e, p, &p->up, now);
    if (a == PUMP_CLOSED) return;
    enum pump_result b = pump(e, p, &p->down, now);
    if (b == PUMP_CLOSED) return;
    if (p->up.dst_shut && p->down.dst_shut) {
        pair_close(e, p, UGS_EOF, 0, true);
        return;
    }
    if (a == PUMP_MORE || b == PUMP_MORE) mark_ready(e, p);
}

static void register_pair(ugs_engine *e, struct pair *p, uint64_t now) {
    p->start_ms = p->last_ms = now;
    p->up.chunk = p->down.chunk = e->pipe_size;
    p->next = e->live;
    if (e->live) e->live->prev = p;
    e->live = p;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET};
    ev.data.ptr = &p->client;
    int r = epoll_ctl(e->epfd, EPOLL_CTL_ADD, p->client.fd, &ev);
    if (r == 0) {
        ev.data.ptr = &p->upstream;
        r = epoll_ctl(e->epfd, EPOLL_CTL_ADD, p->upstream.fd, &ev);
    }
    if (r < 0) {
        pair_close(e, p, UGS_ERROR, errno, true);
        return;
    }
    if (p->idle_ms > 0 && (e->next_deadline == 0 || now + p->idle_ms < e->next_deadline)) e->next_deadline = now + p->idle_ms;
    service(e, p, now);
}

/* Closes idle pairs and recomputes the earliest deadline; runs only when one may have passed. */
static void expire_idle(ugs_engine *e, uint64_t now) {
    uint64_t next = 0;
    struct pair *p = e->live;
    while (p) {
        struct pair *following = p->next;
        if (p->idle_ms > 0) {
            uint64_t deadline = p->last_ms + p->idle_ms;
            if (deadline <= now) pair_close(e, p, UGS_IDLE_TIMEOUT, 0, true);
            else if (next == 0 || deadline < next) next = deadline;
        }
        p = following;
    }
    e->next_deadline = next;
}

static void free_graveyard(ugs_engine *e) {
    while (e->graveyard) {
        struct pair *p = e->graveyard;
        e->graveyard = p->next;
        free(p);
    }
}

/* Returns false when the engine must stop. */
static bool run_commands(ugs_engine *e, uint64_t now) {
    uint64_t v;
    while (read(e->ctl_fd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&e->lock);
    struct cmd *c = e->cmd_head;
    e->cmd_head = e->cmd_tail = NULL;
    bool stop = e->stop;
    pthread_mutex_unlock(&e->lock);
    while (c) {
        struct cmd *following = c->next;
        if (c->kind == CMD_ADD) {
            register_pair(e, c->pair, now);
        } else if (c->kind == CMD_CLOSE) {
            for (struct pair *p = e->live; p; p = p->next) {
                if (p->id == c->id) {
                    pair_close(e, p, UGS_CLOSED, 0, true);
                    break;
                }
            }
        } else {
            while (e->live) pair_close(e, e->live, UGS_CLOSED, 0, true);
        }
        free(c);
        c = following;
    }
    return !stop;
}

static void *engine_main(void *arg) {
    ugs_engine *e = arg;
    struct epoll_event evs[EPOLL_BATCH];
    for (;;) {
        int timeout = -1;
        if (e->ready_head) timeout = 0;
        else if (e->next_deadline) {
            uint64_t now = now_ms();
            timeout = e->next_deadline <= now ? 0 : (int)(e->next_deadline - now > 60000 ? 60000 : e->next_deadline - now);
        }
        int n = epoll_wait(e->epfd, evs, EPOLL_BATCH, timeout);
        if (n < 0 && errno != EINTR) break;
        uint64_t now = now_ms();
        bool keep_going = true;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                keep_going = run_commands(e, now);
                continue;
            }
            struct end *end = evs[i].data.ptr;
            struct pair *p = end->pair;
            if (p->closed) continue;
            /* bytes queued before a reset are moved first; splice() then reports the reset */
            service(e, p, now);
            if (!p->closed && (evs[i].events & EPOLLERR)) {
                /* a reset with nothing left to move in either direction shows up only here */
                int err = 0;
                socklen_t len = sizeof err;
                if (getsockopt(end->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) pair_fail(e, p, end, err);
            }
        }
        /* pairs that used their budget get another pass, after everyone with fresh events */
        struct pair *ready = e->ready_head;
        e->ready_head = NULL;
        while (ready) {
            struct pair *following = ready->ready_next;
            ready->ready = false;
            service(e, ready, now);
            ready = following;
        }
        if (e->next_deadline && e->next_deadline <= now) expire_idle(e, now);
        free_graveyard(e);
        if (!keep_going) break;
    }
    while (e->live) pair_close(e, e->live, UGS_CLOSED, 0, false);
    free_graveyard(e);
    return NULL;
}

/* ---- control thread API ---- */

int ugs_abi(void) {
    return UGS_ABI;
}

ugs_engine *ugs_open(uint32_t pipe_size, uint32_t pool_max) {
    ugs_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->epfd = e->ctl_fd = e->notify_r = e->notify_w = -1;
    e->pipe_size = pipe_size ? pipe_size : 65536;
    e->pool_max = pool_max;
    int err = 0;
    int np[2];
    pthread_attr_t attr;
    bool attr_ok = false, lock_ok = false;
    e->pool = calloc(pool_max ? 2 * (size_t)pool_max : 1, sizeof(int));
    if (!e->pool) goto fail_errno;
    if ((err = pthread_mutex_init(&e->lock, NULL)) != 0) goto fail;
    lock_ok = true;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) goto fail_errno;
    e->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->ctl_fd < 0) goto fail_errno;
    if (pipe2(np, O_NONBLOCK | O_CLOEXEC) < 0) goto fail_errno;
    e->notify_r = np[0];
    e->notify_w = np[1];
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->ctl_fd, &ev) < 0) goto fail_errno;

    /* Report the capacity a pipe will really have, so the benchmark can say what it measured. */
    int probe[2];
    if (pipe2(probe, O_CLOEXEC) == 0) {
        (void)fcntl(probe[0], F_SETPIPE_SZ, (int)e->pipe_size);
        int got = fcntl(probe[0], F_GETPIPE_SZ);
        e->stat[UGS_STAT_PIPE_SIZE] = got > 0 ? (uint64_t)got : 0;
        if (got > 0) e->pipe_size = (uint32_t)got;
        close(probe[0]);
        close(probe[1]);
    }

    if ((err = pthread_attr_init(&attr)) != 0) goto fail;
    attr_ok = true;
    (void)pthread_attr_setstacksize(&attr, THREAD_STACK);
    /* The engine thread takes no signals: the runtime's handlers run on its own thread, and a
     * SIGPIPE raised by splice() into a reset socket stays blocked here (EPIPE is handled). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&e->thread, &attr, engine_main, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    attr_ok = false;
    if (err != 0) goto fail;
    return e;

fail_errno:
    err = errno;
fail:
    if (attr_ok) pthread_attr_destroy(&attr);
    if (e->epfd >= 0) close(e->epfd);
    if (e->ctl_fd >= 0) close(e->ctl_fd);
    if (e->notify_r >= 0) close(e->notify_r);
    if (e->notify_w >= 0) close(e->notify_w);
    if (lock_ok) pthread_mutex_destroy(&e->lock);
    free(e->pool);
    free(e);
    errno = err;
    return NULL;
}

int ugs_notify_dup(ugs_engine *e, int target) {
    int fd = target >= 0 ? dup3(e->notify_r, target, O_CLOEXEC) : fcntl(e->notify_r, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* Commands or a stop are queued: the engine thread looks at them on its next epoll pass. */
static void wake_engine(ugs_engine *e) {
    uint64_t one = 1;
    ssize_t n;
    do n = write(e->ctl_fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

static int enqueue(ugs_engine *e, enum cmd_kind kind, uint32_t id, struct pair *p) {
    struct cmd *c = calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    c->kind = kind;
    c->id = id;
    c->pair = p;
    pthread_mutex_lock(&e->lock);
    if (e->cmd_tail) e->cmd_tail->next = c;
    else e->cmd_head = c;
    e->cmd_tail = c;
    pthread_mutex_unlock(&e->lock);
    wake_engine(e);
    return 0;
}

static uint8_t *copy_bytes(const uint8_t *src, uint32_t len, bool *ok) {
    *ok = true;
    if (len == 0) return NULL;
    uint8_t *b = malloc(len);
    if (!b) *ok = false;
    else memcpy(b, src, len);
    return b;
}

int ugs_add(ugs_engine *e, uint32_t id, int client_fd, int upstream_fd, const uint8_t *to_upstream, uint32_t to_upstream_len,
            const uint8_t *to_client, uint32_t to_client_len, uint32_t idle_ms) {
#ifdef UGS_TEST_REFUSE_ADD
    /* test build only (test/e2e/splice.test.ts): every pair refused, as when out of descriptors */
    (void)e, (void)id, (void)client_fd, (void)upstream_fd, (void)to_upstream, (void)to_upstream_len, (void)to_client, (void)to_client_len, (void)idle_ms;
    return -EMFILE;
#endif
    struct pair *p = calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    p->id = id;
    p->idle_ms = idle_ms;
    p->client.pair = p->upstream.pair = p;
    p->client.reset_reason = UGS_CLIENT_RESET;
    p->upstream.reset_reason = UGS_UPSTREAM_RESET;
    p->up.src = &p->client;
    p->up.dst = &p->upstream;
    p->down.src = &p->upstream;
    p->down.dst = &p->client;
    p->up.pipe_r = p->up.pipe_w = p->down.pipe_r = p->down.pipe_w = -1;
    bool ok_up, ok_down;
    p->up.prefix = copy_bytes(to_upstream, to_upstream_len, &ok_up);
    p->up.prefix_len = to_upstream_len;
    p->down.prefix = copy_bytes(to_client, to_client_len, &ok_down);
    p->down.prefix_len = to_client_len;
    int err = 0;
    p->client.fd = p->upstream.fd = -1;
    if (!ok_up || !ok_down) {
        err = -ENOMEM;
        goto fail;
    }
    p->client.fd = fcntl(client_fd, F_DUPFD_CLOEXEC, 0);
    if (p->client.fd < 0) goto fail_errno;
    p->upstream.fd = fcntl(upstream_fd, F_DUPFD_CLOEXEC, 0);
    if (p->upstream.fd < 0) goto fail_errno;
    /* O_NONBLOCK lives on the shared open file; the runtimes already set it, this makes sure */
    int fl = fcntl(p->client.fd, F_GETFL);
    if (fl < 0 || fcntl(p->client.fd, F_SETFL, fl | O_NONBLOCK) < 0) goto fail_errno;
    fl = fcntl(p->upstream.fd, F_GETFL);
    if (fl < 0 || fcntl(p->upstream.fd, F_SETFL, fl | O_NONBLOCK) < 0) goto fail_errno;
    pthread_mutex_lock(&e->lock);
    e->stat[UGS_STAT_ACTIVE]++;
    e->stat[UGS_STAT_ADDED]++;
    pthread_mutex_unlock(&e->lock);
    err = enqueue(e, CMD_ADD, id, p);
    if (err == 0) return 0;
    pthread_mutex_lock(&e->lock);
    e->stat[UGS_STAT_ACTIVE]--;
    e->stat[UGS_STAT_ADDED]--;
    pthread_mutex_unlock(&e->lock);
    goto fail;
fail_errno:
    err = -errno;
fail:
    if (p->client.fd >= 0) close(p->client.fd);
    if (p->upstream.fd >= 0) close(p->upstream.fd);
    free(p->up.prefix);
    free(p->down.prefix);
    free(p);
    return err;
}

int ugs_close(ugs_engine *e, uint32_t id) {
    return enqueue(e, CMD_CLOSE, id, NULL);
}

int ugs_close_all(ugs_engine *e) {
    return enqueue(e, CMD_CLOSE_ALL, 0, NULL);
}

uint32_t ugs_take_events(ugs_engine *e, uint8_t *buf, uint32_t cap) {
    /* Drain the wake bytes first: an event queued after this point writes a fresh one. */
    uint8_t sink[64];
    while (read(e->notify_r, sink, sizeof sink) > 0) {
    }
    pthread_mutex_lock(&e->lock);
    uint32_t n = cap / UGS_EVENT_SIZE;
    if (n > e->events_len) n = e->events_len;
    memcpy(buf, e->events, (size_t)n * UGS_EVENT_SIZE);
    memmove(e->events, e->events + (size_t)n * UGS_EVENT_SIZE, (size_t)(e->events_len - n) * UGS_EVENT_SIZE);
    e->events_len -= n;
    e->stat[UGS_STAT_EVENTS_QUEUED] = e->events_len;
    e->notify_pending = false;
    if (e->events_len > 0) notify(e); /* the caller's buffer was too small: come back */
    pthread_mutex_unlock(&e->lock);
    return n;
}

uint32_t ugs_stats(ugs_engine *e, uint8_t *buf, uint32_t cap) {
    uint32_t n = cap / 8;
    if (n > UGS_STAT_COUNT) n = UGS_STAT_COUNT;
    pthread_mutex_lock(&e->lock);
    for (uint32_t i = 0; i < n; i++) put_le64(buf + 8 * i, e->stat[i]);
    pthread_mutex_unlock(&e->lock);
    if (n > UGS_STAT_MOVED_UP) put_le64(buf + 8 * UGS_STAT_MOVED_UP, __atomic_load_n(&e->moved[0], __ATOMIC_RELAXED));
    if (n > UGS_STAT_MOVED_DOWN) put_le64(buf + 8 * UGS_STAT_MOVED_DOWN, __atomic_load_n(&e->moved[1], __ATOMIC_RELAXED));
    return n;
}

void ugs_destroy(ugs_engine *e) {
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_mutex_unlock(&e->lock);
    wake_engine(e);
    pthread_join(e->thread, NULL);
    /* commands that arrived after the thread's last look */
    for (struct cmd *c = e->cmd_head; c;) {
        struct cmd *following = c->next;
        if (c->kind == CMD_ADD) {
            close(c->pair->client.fd);
            close(c->pair->upstream.fd);
            free(c->pair->up.prefix);
            free(c->pair->down.prefix);
            free(c->pair);
        }
        free(c);
        c = following;
    }
    for (uint32_t i = 0; i < 2 * e->pool_len; i++) close(e->pool[i]);
    close(e->epfd);
    close(e->ctl_fd);
    close(e->notify_r);
    close(e->notify_w);
    pthread_mutex_destroy(&e->lock);
    free(e->pool);
    free(e->events);
    free(e);
}

/*
 * ugate splice shim: the zero-copy data plane.
 *
 * After ugate has sniffed and routed a connection, it hands the pair of connected sockets (client,
 * upstream) to this engine together with the bytes it already read. A dedicated thread moves the
 * payload with splice() through pooled pipes; JavaScript never touches it again. When a pair ends,
 * the engine queues one fixed-size event record and makes the notify descriptor readable.
 *
 * Ownership: ugs_add() duplicates both descriptors. The caller closes its own copies right after
 * (closing a duplicate sends nothing on the wire); the engine closes its copies exactly once.
 *
 * Thread safety: every function may be called from one control thread (the JS runtime's); the
 * engine thread is internal. Linux only (splice, epoll, eventfd); libc and pthreads only.
 */
#ifndef UGATE_SPLICE_H
#define UGATE_SPLICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a signature or a record layout changes; bindings check it. */
#define UGS_ABI 2

typedef struct ugs_engine ugs_engine;

/* Why a pair ended (event record field `reason`). */
enum ugs_reason {
    UGS_EOF = 0,            /* both directions finished (FIN each way) */
    UGS_CLIENT_RESET = 1,   /* the client side failed (RST, EPIPE...); upstream was reset too */
    UGS_UPSTREAM_RESET = 2, /* the upstream side failed; the client was reset too */
    UGS_IDLE_TIMEOUT = 3,   /* no byte moved for idle_ms; both reset (cut short) */
    UGS_CLOSED = 4,         /* closed by ugs_close / ugs_close_all; both reset (cut short) */
    UGS_ERROR = 5,          /* local failure (out of descriptors, epoll); both reset */
    /* The client side failed after it had sent its FIN, or with nothing of the upstream's on its
     * way to it (after the upstream's whole stream, or between messages): it closed its socket
     * once done (a TLS client leaving after its close_notify), nothing in flight was cut short.
     * Upstream is reset as for UGS_CLIENT_RESET. */
    UGS_CLIENT_CLOSED = 6,
    UGS_UPSTREAM_CLOSED = 7 /* the upstream side failed after it had sent its FIN; client reset */
};

/*
 * Event record, UGS_EVENT_SIZE bytes, all fields little-endian whatever the CPU:
 *   0  u32 id          the id given to ugs_add
 *   4  u32 reason      enum ugs_reason
 *   8  u64 up          bytes written to upstream (prefix included)
 *  16  u64 down        bytes written to the client (prefix included)
 *  24  u32 duration_ms from ugs_add to close
 *  28  i32 error       errno behind a reset or error, else 0
 */
#define UGS_EVENT_SIZE 32

/* Counters (ugs_stats), each a little-endian u64, in this order. */
enum ugs_stat {
    UGS_STAT_ACTIVE = 0,    /* pairs open now */
    UGS_STAT_ADDED,         /* pairs handed over since open */
    UGS_STAT_BYTES_UP,      /* bytes moved client -> upstream, finished pairs */
    UGS_STAT_BYTES_DOWN,    /* bytes moved upstream -> client, finished pairs */
    UGS_STAT_PIPES_OPEN,    /* pipes in use or pooled */
    UGS_STAT_PIPES_POOLED,  /* idle pipes in the pool */
    UGS_STAT_PIPE_SIZE,     /* pipe capacity in bytes (after F_SETPIPE_SZ) */
    UGS_STAT_EVENTS_QUEUED, /* events not yet taken */
    UGS_STAT_MOVED_UP,      /* bytes moved client -> upstream so far, open pairs included, modulo
                             * 2^32 (live: read it often enough to see each wrap) */
    UGS_STAT_MOVED_DOWN,    /* the same, upstream -> client */
    UGS_STAT_COUNT
};

/* Returns UGS_ABI of the compiled library. */
int ugs_abi(void);

/*
 * Starts an engine and its thread. pipe_size: requested pipe capacity in bytes (0 = kernel
 * default); pool_max: idle pipes kept for reuse. Returns NULL with errno set on failure.
 */
ugs_engine *ugs_open(uint32_t pipe_size, uint32_t pool_max);

/*
 * A descriptor that becomes readable when events are queued. With target < 0, returns a new
 * duplicate (close-on-exec) that the caller owns; with target >= 0, dup2()s onto target.
 * Returns the descriptor, or -errno. The caller may read and discard its bytes.
 */
int ugs_notify_dup(ugs_engine *e, int target);

/*
 * Hands a connected pair over. to_upstream (may be empty) is written to upstream before any
 * spliced byte, to_client likewise to the client. idle_ms = 0 disables the idle timeout.
 * Returns 0, or -errno (then nothing was taken and the caller still owns everything).
 */
int ugs_add(ugs_engine *e, uint32_t id, int client_fd, int upstream_fd, const uint8_t *to_upstream,
            uint32_t to_upstream_len, const uint8_t *to_client, uint32_t to_client_len, uint32_t idle_ms);

/* Asks the engine to close one pair (event reason UGS_CLOSED follows). 0, or -ENOMEM. */
int ugs_close(ugs_engine *e, uint32_t id);

/* Asks the engine to close every open pair; one event each follows. 0, or -ENOMEM. */
int ugs_close_all(ugs_engine *e);

/* Moves up to cap / UGS_EVENT_SIZE queued events into buf; returns how many. */
uint32_t ugs_take_events(ugs_engine *e, uint8_t *buf, uint32_t cap);

/* Writes up to cap / 8 counters (enum ugs_stat order) into buf; returns how many. */
uint32_t ugs_stats(ugs_engine *e, uint8_t *buf, uint32_t cap);

/* Stops the thread, closes every pair (no events) and pipe, frees the engine. */
void ugs_destroy(ugs_engine *e);

#ifdef __cplusplus
}
#endif

#endif

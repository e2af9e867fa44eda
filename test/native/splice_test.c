/*
 * C tests for the splice shim, run natively and under qemu-user for each router architecture.
 * Real loopback TCP sockets: the test plays the client and the server; the shim sits between.
 *
 *   client_app <-> [proxy_in | engine | proxy_out] <-> server_app
 *
 * Exit 0 when every check passes; each failure prints its line and the test keeps going.
 */
#define _GNU_SOURCE
#include "../../src/native/ugate_splice.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int failures;
static int checks;
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
        }                                                                   \
    } while (0)

static int listener;
static struct sockaddr_in listen_addr;
static ugs_engine *engine;
static uint32_t next_id = 1;

struct event {
    uint32_t id, reason, duration_ms;
    int32_t error;
    uint64_t up, down;
};

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void setup_listener(void) {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&listen_addr, 0, sizeof listen_addr);
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof listen_addr;
    if (bind(listener, (struct sockaddr *)&listen_addr, len) < 0 || listen(listener, 4096) < 0 ||
        getsockname(listener, (struct sockaddr *)&listen_addr, &len) < 0) {
        perror("listener");
        exit(2);
    }
}

/* A connected loopback pair: *a connected, *b accepted. */
static void tcp_pair(int *a, int *b) {
    *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&listen_addr, sizeof listen_addr) < 0) {
        perror("connect");
        exit(2);
    }
    *b = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (*b < 0) {
        perror("accept");
        exit(2);
    }
}

struct link {
    int client; /* the test's client end */
    int server; /* the test's server end */
    uint32_t id;
};

/* Builds client <-> engine <-> server and hands the middle over; the test's copies are closed. */
static struct link make_link(const char *to_up, const char *to_client, uint32_t idle_ms) {
    struct link l;
    int proxy_in, proxy_out;
    tcp_pair(&l.client, &proxy_in);
    tcp_pair(&proxy_out, &l.server);
    l.id = next_id++;
    int r = ugs_add(engine, l.id, proxy_in, proxy_out, (const uint8_t *)to_up, (uint32_t)strlen(to_up), (const uint8_t *)to_client,
                    (uint32_t)strlen(to_client), idle_ms);
    if (r != 0) {
        fprintf(stderr, "ugs_add: %s\n", strerror(-r));
        exit(2);
    }
    close(proxy_in);
    close(proxy_out);
    return l;
}

static struct event pending_events[4096];
static int pending_count;

/* Waits for the event of `id` (others are kept for later); returns 0 on timeout. */
static int wait_event(uint32_t id, struct event *out, int timeout_ms) {
    int notify = ugs_notify_dup(engine, -1);
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int found = 0;
    while (!found) {
        for (int i = 0; i < pending_count; i++) {
            if (pending_events[i].id == id) {
                *out = pending_events[i];
                pending_events[i] = pending_events[--pending_count];
                found = 1;
                break;
            }
        }
        if (found) break;
        uint64_t now = now_ms();
        if (now >= deadline) break;
        struct pollfd pfd = {.fd = notify, .events = POLLIN};
        poll(&pfd, 1, (int)(deadline - now));
        uint8_t buf[UGS_EVENT_SIZE * 64];
        uint32_t n;
        while ((n = ugs_take_events(engine, buf, sizeof buf)) > 0) {
            for (uint32_t i = 0; i < n && pending_count < 4096; i++) {
                const uint8_t *r = buf + i * UGS_EVENT_SIZE;
                struct event ev = {le32(r), le32(r + 4), le32(r + 24), (int32_t)le32(r + 28), le64(r + 8), le64(r + 16)};
                pending_events[pending_count++] = ev;
            }
        }
    }
    close(notify);
    return found;
}

static void write_all(int fd, const void *buf, size_t len) {
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            perror("write");
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Reads exactly len bytes (or until EOF/error); returns bytes read. */
static size_t read_full(int fd, void *buf, size_t len) {
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

/* Reads until EOF; returns -errno on error, else bytes read. */
static long drain(int fd) {
    uint8_t buf[4096];
    long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return total;
        total += n;
    }
}

static void set_timeout(int fd, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void reset_close(int fd) {
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ---- tests ---- */

static void test_prefix(void) {
    struct link l = make_link("SNIFFED:", "BANNER", 0);
    char buf[64] = {0};
    CHECK(read_full(l.client, buf, 6) == 6 && memcmp(buf, "BANNER", 6) == 0, "client got '%s'", buf);
    write_all(l.client, "hello", 5);
    memset(buf, 0, sizeof buf);
    CHECK(read_full(l.server, buf, 13) == 13 && memcmp(buf, "SNIFFED:hello", 13) == 0, "server got '%s'", buf);
    close(l.client);
    close(l.server);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for prefix link");
    CHECK(ev.reason == UGS_EOF, "reason %u", ev.reason);
    CHECK(ev.up == 13 && ev.down == 6, "bytes up %llu down %llu", (unsigned long long)ev.up, (unsigned long long)ev.down);
}

struct bulk {
    int fd;
    size_t bytes;
    uint32_t seed;
    uint64_t sum; /* reader: checksum of what arrived */
    size_t got;
    int slow;
};

/* A position-dependent pattern, so a lost, duplicated or reordered chunk changes the sum. */
static uint8_t pattern(uint32_t seed, size_t i) {
    uint32_t x = (uint32_t)i * 2654435761u ^ seed;
    return (uint8_t)(x >> 13);
}

static void *bulk_writer(void *arg) {
    struct bulk *b = arg;
    uint8_t buf[65536];
    size_t off = 0;
    while (off < b->bytes) {
        size_t n = b->bytes - off < sizeof buf ? b->bytes - off : sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = pattern(b->seed, off + i);
        write_all(b->fd, buf, n);
        off += n;
    }
    shutdown(b->fd, SHUT_WR);
    return NULL;
}

static void *bulk_reader(void *arg) {
    struct bulk *b = arg;
    uint8_t buf[65536];
    for (;;) {
        if (b->slow) usleep(2000); /* a destination slower than its source */
        ssize_t n = read(b->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) {
            uint8_t want = pattern(b->seed, b->got + (size_t)i);
            b->sum += (uint64_t)(buf[i] ^ want); /* 0 when every byte is where it belongs */
        }
        b->got += (size_t)n;
    }
    return NULL;
}

/* slow: the server reads slowly, so the shim's reads shrink and grow again; bytes must not care */
static void test_bulk(size_t bytes, int slow) {
    struct link l = make_link("", "", 0);
    struct bulk up_w = {l.client, bytes, 0x1234, 0, 0, 0}, up_r = {l.server, bytes, 0x1234, 0, 0, slow};
    struct bulk dn_w = {l.server, bytes, 0xbeef, 0, 0, 0}, dn_r = {l.client, bytes, 0xbeef, 0, 0, 0};
    pthread_t t[4];
    pthread_create(&t[0], NULL, bulk_writer, &up_w);
    pthread_create(&t[1], NULL, bulk_reader, &up_r);
    pthread_create(&t[2], NULL, bulk_writer, &dn_w);
    pthread_create(&t[3], NULL, bulk_reader, &dn_r);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    CHECK(up_r.got == bytes && up_r.sum == 0, "up: got %zu of %zu, mismatches %llu", up_r.got, bytes, (unsigned long long)up_r.sum);
    CHECK(dn_r.got == bytes && dn_r.sum == 0, "down: got %zu of %zu, mismatches %llu", dn_r.got, bytes, (unsigned long long)dn_r.sum);
    close(l.client);
    close(l.server);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 10000), "no event for bulk link");
    CHECK(ev.reason == UGS_EOF && ev.up == bytes && ev.down == bytes, "reason %u up %llu down %llu", ev.reason, (unsigned long long)ev.up,
          (unsigned long long)ev.down);
}

/* One side finishes sending; the other keeps sending and must still be heard. */
static void test_half_close(int client_first) {
    struct link l = make_link("", "", 0);
    int first = client_first ? l.client : l.server, second = client_first ? l.server : l.client;
    write_all(first, "request", 7);
    shutdown(first, SHUT_WR);
    char buf[64] = {0};
    set_timeout(second, 5000);
    CHECK(read_full(second, buf, 7) == 7 && memcmp(buf, "request", 7) == 0, "got '%s'", buf);
    CHECK(drain(second) == 0, "expected EOF after the half-close");
    /* the other direction is still open */
    for (int i = 0; i < 3; i++) write_all(second, "response", 8);
    memset(buf, 0, sizeof buf);
    set_timeout(first, 5000);
    CHECK(read_full(first, buf, 24) == 24 && memcmp(buf + 16, "response", 8) == 0, "got '%s'", buf);
    shutdown(second, SHUT_WR);
    CHECK(drain(first) == 0, "expected EOF");
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for half-close link");
    CHECK(ev.reason == UGS_EOF, "reason %u", ev.reason);
    uint64_t from_first = client_first ? ev.up : ev.down, from_second = client_first ? ev.down : ev.up;
    CHECK(from_first == 7 && from_second == 24, "bytes %llu / %llu", (unsigned long long)from_first, (unsigned long long)from_second);
    close(l.client);
    close(l.server);
}

/* A client that resets with nothing on its way to it (between messages) closed the connection:
 * the reset still reaches the server, but the event says it was the client's end, not a cut. */
static void test_client_reset_idle(void) {
    struct link l = make_link("", "", 0);
    write_all(l.client, "partial", 7);
    char buf[16];
    CHECK(read_full(l.server, buf, 7) == 7, "server did not get the bytes before the reset");
    reset_close(l.client);
    set_timeout(l.server, 5000);
    long r = drain(l.server);
    CHECK(r == -ECONNRESET, "server saw %ld, expected a reset to be passed on", r);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for client reset");
    CHECK(ev.reason == UGS_CLIENT_CLOSED && ev.error == ECONNRESET, "reason %u error %d", ev.reason, ev.error);
    close(l.server);
}

/* Sends from `server` until every buffer on the way to a client that does not read is full: the
 * client's, the engine's pipe, the server's own. */
static void fill_towards(int server) {
    static char chunk[65536];
    fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK);
    for (int round = 0; round < 3; round++) {
        while (send(server, chunk, sizeof chunk, MSG_NOSIGNAL) > 0) {
        }
        usleep(50 * 1000);
    }
}

/* A client that resets while the server's bytes wait for it (it stopped reading) cut them short. */
static void test_client_reset_in_flight(void) {
    struct link l = make_link("", "", 0);
    fill_towards(l.server);
    reset_close(l.client);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for client reset");
    CHECK(ev.reason == UGS_CLIENT_RESET && ev.error == ECONNRESET, "reason %u error %d", ev.reason, ev.error);
    close(l.server);
}

/* A client that sent its FIN and then resets closed the connection, whatever was on its way. */
static void test_client_fin_then_reset(void) {
    struct link l = make_link("", "", 0);
    shutdown(l.client, SHUT_WR);
    fill_towards(l.server);
    reset_close(l.client);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for client reset");
    CHECK(ev.reason == UGS_CLIENT_CLOSED, "reason %u error %d", ev.reason, ev.error);
    close(l.server);
}

static void test_upstream_reset(void) {
    struct link l = make_link("", "", 0);
    write_all(l.server, "last words", 10);
    reset_close(l.server);
    char buf[16] = {0};
    set_timeout(l.client, 5000);
    /* the bytes that arrived before the reset reach the client, then the reset does */
    CHECK(read_full(l.client, buf, 10) == 10 && memcmp(buf, "last words", 10) == 0, "client got '%s'", buf);
    long r = drain(l.client);
    CHECK(r == -ECONNRESET, "client saw %ld, expected a reset", r);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for upstream reset");
    CHECK(ev.reason == UGS_UPSTREAM_RESET && ev.down == 10, "reason %u down %llu", ev.reason, (unsigned long long)ev.down);
    close(l.client);
}

static void test_idle_timeout(void) {
    struct link l = make_link("", "", 300);
    uint64_t t0 = now_ms();
    /* activity postpones the timeout */
    usleep(200 * 1000);
    write_all(l.client, "x", 1);
    char c;
    CHECK(read_full(l.server, &c, 1) == 1, "byte not forwarded");
    set_timeout(l.client, 5000);
    long r = drain(l.client);
    CHECK(r == -ECONNRESET, "client saw %ld at idle timeout, expected a reset (cut short, not complete)", r);
    uint64_t elapsed = now_ms() - t0;
    CHECK(elapsed >= 450 && elapsed < 3000, "closed after %llu ms, expected about 500", (unsigned long long)elapsed);
    struct event ev;
    CHECK(wait_event(l.id, &ev, 5000), "no event for idle link");
    CHECK(ev.reason == UGS_IDLE_TIMEOUT && ev.up == 1, "reason %u up %llu", ev.reason, (unsigned long long)ev.up);
    close(l.client);
    close(l.server);
}

static void test_close_one_and_all(void) {
    struct link a = make_link("", "", 0), b = make_link("", "", 0), c = make_link("", "", 0);
    ugs_close(engine, a.id);
    set_timeout(a.client, 5000);
    set_timeout(a.server, 5000);
    long rc = drain(a.client), rs = drain(a.server);
    CHECK(rc == -ECONNRESET && rs == -ECONNRESET, "closed pair: client %ld, server %ld, expected a reset on both sides", rc, rs);
    struct event ev;
    CHECK(wait_event(a.id, &ev, 5000) && ev.reason == UGS_CLOSED, "close one: reason %u", ev.reason);
    /* the others are untouched */
    write_all(b.client, "still", 5);
    char buf[8];
    CHECK(read_full(b.server, buf, 5) == 5, "pair b stopped working after closing a");
    ugs_close_all(engine);
    CHECK(wait_event(b.id, &ev, 5000) && ev.reason == UGS_CLOSED && ev.up == 5, "close all b: reason %u", ev.reason);
    CHECK(wait_event(c.id, &ev, 5000) && ev.reason == UGS_CLOSED, "close all c: reason %u", ev.reason);
    close(a.client), close(a.server), close(b.client), close(b.server), close(c.client), close(c.server);
}

static void test_many(int count) {
    struct link *links = calloc((size_t)count, sizeof *links);
    for (int i = 0; i < count; i++) links[i] = make_link("", "", 0);
    /* every pair carries its own message both ways */
    for (int i = 0; i < count; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "up-%06d", i);
        write_all(links[i].client, msg, (size_t)n);
        n = snprintf(msg, sizeof msg, "down-%06d", i);
        write_all(links[i].server, msg, (size_t)n);
    }
    int ok = 0;
    for (int i = 0; i < count; i++) {
        char want[32], got[32] = {0};
        int n = snprintf(want, sizeof want, "up-%06d", i);
        set_timeout(links[i].server, 5000);
        set_timeout(links[i].client, 5000);
        int good = read_full(links[i].server, got, (size_t)n) == (size_t)n && memcmp(got, want, (size_t)n) == 0;
        n = snprintf(want, sizeof want, "down-%06d", i);
        good = good && read_full(links[i].client, got, (size_t)n) == (size_t)n && memcmp(got, want, (size_t)n) == 0;
        ok += good;
        close(links[i].client);
        close(links[i].server);
    }
    CHECK(ok == count, "%d of %d pairs carried their messages", ok, count);
    int events_ok = 0;
    for (int i = 0; i < count; i++) {
        struct event ev;
        if (wait_event(links[i].id, &ev, 10000) && ev.reason == UGS_EOF && ev.up == 9 && ev.down == 11) events_ok++;
    }
    CHECK(events_ok == count, "%d of %d events complete", events_ok, count);
    free(links);
}

int main(int argc, char **argv) {
    size_t bulk_mb = argc > 1 ? (size_t)atoi(argv[1]) : 64;
    int many = argc > 2 ? atoi(argv[2]) : 500;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    CHECK(ugs_abi() == UGS_ABI, "abi %d", ugs_abi());
    setup_listener();
    int fds_before = count_fds();
    engine = ugs_open(1024 * 1024, 16);
    if (!engine) {
        perror("ugs_open");
        return 2;
    }
    test_prefix();
    test_bulk(bulk_mb * 1024 * 1024, 0);
    test_bulk(8 * 1024 * 1024, 1);
    test_half_close(1);
    test_half_close(0);
    test_client_reset_idle();
    test_client_reset_in_flight();
    test_client_fin_then_reset();
    test_upstream_reset();
    test_idle_timeout();
    test_close_one_and_all();
    test_many(many);

    uint8_t raw[8 * UGS_STAT_COUNT];
    uint32_t n = ugs_stats(engine, raw, sizeof raw);
    CHECK(n == UGS_STAT_COUNT, "stats count %u", n);
    CHECK(le64(raw + 8 * UGS_STAT_ACTIVE) == 0, "active %llu after all closed", (unsigned long long)le64(raw));
    CHECK(le64(raw + 8 * UGS_STAT_ADDED) == (uint64_t)(next_id - 1), "added %llu", (unsigned long long)le64(raw + 8));
    CHECK(le64(raw + 8 * UGS_STAT_PIPES_OPEN) <= 16 && le64(raw + 8 * UGS_STAT_PIPES_OPEN) == le64(raw + 8 * UGS_STAT_PIPES_POOLED),
          "pipes open %llu pooled %llu: every pipe back in the pool", (unsigned long long)le64(raw + 8 * UGS_STAT_PIPES_OPEN),
          (unsigned long long)le64(raw + 8 * UGS_STAT_PIPES_POOLED));
    printf("pipe size %llu bytes, pipes pooled %llu\n", (unsigned long long)le64(raw + 8 * UGS_STAT_PIPE_SIZE),
           (unsigned long long)le64(raw + 8 * UGS_STAT_PIPES_POOLED));

    /* a pair still open at teardown is closed by ugs_destroy, and nothing leaks */
    struct link open_at_end = make_link("", "", 0);
    ugs_destroy(engine);
    set_timeout(open_at_end.client, 5000);
    long re = drain(open_at_end.client);
    CHECK(re == -ECONNRESET, "open pair at destroy: client saw %ld, expected a reset", re);
    close(open_at_end.client);
    close(open_at_end.server);
    CHECK(count_fds() == fds_before, "descriptors: %d before, %d after", fds_before, count_fds());

    printf("%s: %d checks, %d failed\n", failures ? "FAIL" : "ok", checks, failures);
    return failures ? 1 : 0;
}

// bench/loadgen.c — the benchmark's client and backend server, one binary.
//
//   loadgen server [--port P]                      backend; prints "port N", serves until killed
//   loadgen stream --port P --bytes N [--up]       one connection; download (default) or upload
//   loadgen conns  --port P [--conc C] [--secs S] [--count K]   short connections
//   loadgen hold   --port P [--n N]                open N forwarded connections, print "ready",
//                                                  hold them until stdin closes
//
// Every connection starts with a realistic TLS 1.3 ClientHello (SNI, ALPN, key share, Chrome-style
// padding to a 517-byte record). Its 32-byte legacy session id carries the bench command to the
// backend ("UGB1", op, byte count), so one backend serves every test and every proxy sees nothing
// but a valid hello followed by payload.
//
// Bulk data moves by splice() at both ends: the sender tee()s page references from a pipe filled
// once, the receiver splices into a pipe and on to /dev/null. Neither end copies payload, so as
// much of the 2 cores as possible is left to the proxy under test. Every row uses the same code.
// The hello announces the byte count, so neither direction relies on EOF or half-close passing
// through the proxy. Output is one JSON line per run (stdout); diagnostics go to stderr.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIPE_SZ (1 << 20)
#define MAGIC "UGB1"
#define REPLY_LEN 64
#define SNI "bench.test"

enum { OP_DOWN = 'D', OP_UP = 'U', OP_REPLY = 'R' };

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(void) {
  struct rlimit r = {65536, 65536};
  if (setrlimit(RLIMIT_NOFILE, &r) != 0 && getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// A pipe as large as the system allows (1 MiB by default): fewer, larger splices.
static void big_pipe(int p[2]) {
  if (pipe2(p, O_CLOEXEC) != 0) die("pipe");
  fcntl(p[1], F_SETPIPE_SZ, PIPE_SZ);
}

// The zero-copy data source: a pipe holding PIPE_SZ bytes that tee() duplicates without consuming.
static int source_pipe(void) {
  int p[2];
  big_pipe(p);
  static char chunk[65536];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (char)(i * 131 + 7);
  for (int i = 0; i < PIPE_SZ / (int)sizeof chunk; i++)
    if (write(p[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk) die("fill source pipe");
  return p[0];
}

static size_t put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return 2;
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static void set64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

// A ClientHello shaped like a current browser's. Returns its length (one 517-byte record).
static size_t build_hello(uint8_t *b, int op, uint64_t n) {
  uint8_t *p = b;
  *p++ = 0x16, *p++ = 3, *p++ = 1, p += 2;  // record: handshake, TLS 1.0 framing, length later
  uint8_t *hs = p;
  *p++ = 1, p += 3;                          // handshake: client_hello, length later
  *p++ = 3, *p++ = 3;                        // legacy_version TLS 1.2
  for (int i = 0; i < 32; i++) *p++ = (uint8_t)(i * 73 + 29);  // random
  *p++ = 32;                                 // legacy_session_id: the bench command
  memcpy(p, MAGIC, 4);
  p[4] = (uint8_t)op;
  memset(p + 5, 0, 3);
  set64(p + 8, n);
  memset(p + 16, 0x5a, 16);
  p += 32;
  static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                    0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  p += put16(p, sizeof suites);
  for (size_t i = 0; i < sizeof suites / sizeof *suites; i++) p += put16(p, suites[i]);
  *p++ = 1, *p++ = 0;                        // compression: null
  uint8_t *ext = p;
  p += 2;
  size_t sl = strlen(SNI);
  p += put16(p, 0x0000), p += put16(p, sl + 5), p += put16(p, sl + 3);  // server_name
  *p++ = 0, p += put16(p, sl);
  memcpy(p, SNI, sl), p += sl;
  p += put16(p, 0x0017), p += put16(p, 0);                              // extended_master_secret
  p += put16(p, 0xff01), p += put16(p, 1), *p++ = 0;                    // renegotiation_info
  p += put16(p, 0x000a), p += put16(p, 8), p += put16(p, 6);            // supported_groups
  p += put16(p, 0x001d), p += put16(p, 0x0017), p += put16(p, 0x0018);
  p += put16(p, 0x000b), p += put16(p, 2), *p++ = 1, *p++ = 0;          // ec_point_formats
  p += put16(p, 0x0023), p += put16(p, 0);                              // session_ticket
  p += put16(p, 0x0010), p += put16(p, 14), p += put16(p, 12);          // ALPN h2, http/1.1
  memcpy(p, "\x02h2\x08http/1.1", 12), p += 12;
  p += put16(p, 0x0005), p += put16(p, 5), *p++ = 1;                    // status_request
  p += put16(p, 0), p += put16(p, 0);
  static const uint16_t sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
  p += put16(p, 0x000d), p += put16(p, sizeof sigalgs + 2), p += put16(p, sizeof sigalgs);
  for (size_t i = 0; i < sizeof sigalgs / sizeof *sigalgs; i++) p += put16(p, sigalgs[i]);
  p += put16(p, 0x0012), p += put16(p, 0);                              // signed_certificate_timestamp
  p += put16(p, 0x0033), p += put16(p, 38), p += put16(p, 36);          // key_share x25519
  p += put16(p, 0x001d), p += put16(p, 32);
  for (int i = 0; i < 32; i++) *p++ = (uint8_t)(i * 151 + 3);
  p += put16(p, 0x002d), p += put16(p, 2), *p++ = 1, *p++ = 1;          // psk_key_exchange_modes
  p += put16(p, 0x002b), p += put16(p, 5), *p++ = 4;                    // supported_versions
  p += put16(p, 0x0304), p += put16(p, 0x0303);
  size_t pad = 517 - (size_t)(p - b) - 4;                               // padding (RFC 7685)
  p += put16(p, 0x0015), p += put16(p, pad);
  memset(p, 0, pad), p += pad;
  put16(ext, (unsigned)(p - ext - 2));
  size_t hl = (size_t)(p - hs - 4);
  hs[1] = (uint8_t)(hl >> 16), hs[2] = (uint8_t)(hl >> 8), hs[3] = (uint8_t)hl;
  put16(b + 3, (unsigned)(p - b - 5));
  return (size_t)(p - b);
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int connect_blocking(int port) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
  return fd;
}

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write");
    p += n, len -= (size_t)n;
  }
}

// Sends n bytes from the tee source into fd (blocking or not); returns bytes sent, -1 on error.
// *fill tracks bytes already tee'd into p but not yet spliced out (kept across EAGAIN).
static ssize_t pump_out(int src, int p[2], size_t *fill, int fd, uint64_t *rem, int nonblock) {
  ssize_t sent = 0;
  unsigned nb = nonblock ? SPLICE_F_NONBLOCK : 0;
  while (*rem > 0) {
    if (*fill == 0) {
      ssize_t t = tee(src, p[1], *rem < PIPE_SZ ? *rem : PIPE_SZ, nb);
      if (t <= 0) return -1;
      *fill = (size_t)t;
    }
    ssize_t s = splice(p[0], NULL, fd, NULL, *fill, SPLICE_F_MOVE | nb | (*rem > *fill ? SPLICE_F_MORE : 0));
    if (s < 0) return errno == EAGAIN ? sent : -1;
    *fill -= (size_t)s, *rem -= (uint64_t)s, sent += s;
  }
  return sent;
}

// ---------------------------------------------------------------------------------------------
// server: one epoll thread, non-blocking state machines

enum { S_HELLO, S_DOWN, S_UP, S_DRAIN };

struct conn {
  int fd, state;
  int p[2];
  size_t got, fill;
  uint64_t rem, count;
  uint8_t buf[1024];
};

static int g_ep, g_src, g_null;

static void finish(struct conn *c) {
  close(c->fd);  // also removes it from the epoll set
  if (c->p[0] >= 0) close(c->p[0]), close(c->p[1]);
  free(c);
}

static void want(struct conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void step(struct conn *c) {
  static uint8_t scratch[65536];
  for (;;) switch (c->state) {
      case S_HELLO: {
        ssize_t n = read(c->fd, c->buf + c->got, sizeof c->buf - c->got);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) return finish(c);
        c->got += (size_t)n;
        if (c->got < 5) continue;
        size_t need = 5 + (size_t)(c->buf[3] << 8 | c->buf[4]);
        if (need > sizeof c->buf) return finish(c);
        if (c->got < need) continue;
        int ours = need >= 76 && c->buf[0] == 0x16 && c->buf[5] == 1 && c->buf[43] == 32 &&
                   memcmp(c->buf + 44, MAGIC, 4) == 0;
        int op = ours ? c->buf[48] : OP_REPLY;
        uint64_t n64 = ours ? get64(c->buf + 52) : 0;
        if (op == OP_DOWN || op == OP_UP) {
          big_pipe(c->p);
          c->rem = n64;
          c->count = c->got - need;  // upload bytes that arrived with the hello
          if (op == OP_UP && c->count >= c->rem) goto upload_done;
          c->state = op == OP_DOWN ? S_DOWN : S_UP;
          if (op == OP_DOWN) want(c, EPOLLOUT);
        } else {
          memset(scratch, 'r', REPLY_LEN);
          if (write(c->fd, scratch, REPLY_LEN) != REPLY_LEN) return finish(c);
          c->state = S_DRAIN;
        }
        continue;
      }
      case S_DOWN:
        if (pump_out(g_src, c->p, &c->fill, c->fd, &c->rem, 1) < 0) return finish(c);
        if (c->rem > 0) return;  // socket full; EPOLLOUT resumes
        shutdown(c->fd, SHUT_WR);
        c->state = S_DRAIN;
        want(c, EPOLLIN);
        continue;
      case S_UP: {
        // Read exactly the announced count, then reply with it: the client needs no half-close,
        // which not every proxy passes on (nginx closes both sides unless proxy_half_close).
        uint64_t want_bytes = c->rem - c->count;
        ssize_t s = splice(c->fd, NULL, c->p[1], NULL, want_bytes < PIPE_SZ ? want_bytes : PIPE_SZ,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (s < 0 && errno == EAGAIN) return;
        if (s <= 0) return finish(c);  // closed early: the client sees no reply and reports it
        c->count += (uint64_t)s;
        while (s > 0) {
          ssize_t d = splice(c->p[0], NULL, g_null, NULL, (size_t)s, SPLICE_F_MOVE);
          if (d <= 0) return finish(c);
          s -= d;
        }
        if (c->count < c->rem) continue;
      upload_done: {
        uint8_t r[8];
        set64(r, c->count);
        if (write(c->fd, r, 8) != 8) return finish(c);
        c->state = S_DRAIN;
        continue;
      }
      }
      case S_DRAIN: {  // wait for the peer to close, discarding anything it still sends
        ssize_t n = read(c->fd, scratch, sizeof scratch);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) return finish(c);
        continue;
      }
    }
}

static int listen_on(int port) {
  struct sockaddr_in a = loopback(port);
  int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
  if (listen(fd, 4096) != 0) die("listen");
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  return fd;
}

static int serve(int port) {
  int ls = listen_on(port);
  g_src = source_pipe();
  g_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  g_ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
  epoll_ctl(g_ep, EPOLL_CTL_ADD, ls, &ev);
  for (;;) {
    int n = epoll_wait(g_ep, evs, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c) {
        step(c);
        continue;
      }
      int fd;
      while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        c = calloc(1, sizeof *c);
        c->fd = fd, c->p[0] = c->p[1] = -1, c->state = S_HELLO;
        struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &cev);
      }
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// stream: one bulk transfer, timed from connect to the last byte (down) or the server's receipt (up)

static int stream(int port, uint64_t bytes, int up) {
  uint8_t hello[600];
  size_t hl = build_hello(hello, up ? OP_UP : OP_DOWN, bytes);
  int p[2];
  big_pipe(p);
  double t0 = now();
  int fd = connect_blocking(port);
  write_all(fd, hello, hl);
  uint64_t moved = 0;
  if (up) {
    int src = source_pipe();
    uint64_t rem = bytes;
    size_t fill = 0;
    t0 = now();  // exclude filling the source pipe
    if (pump_out(src, p, &fill, fd, &rem, 0) < 0) die("upload splice");
    uint8_t r[8];
    size_t got = 0;
    while (got < 8) {
      ssize_t n = read(fd, r + got, 8 - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    moved = got == 8 ? get64(r) : 0;
  } else {
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    while (moved < bytes) {  // the announced count, not EOF: how a proxy closes is not timed
      uint64_t left = bytes - moved;
      ssize_t s = splice(fd, NULL, p[1], NULL, left < PIPE_SZ ? left : PIPE_SZ, SPLICE_F_MOVE);
      if (s < 0 && errno == EINTR) continue;
      if (s < 0) die("download splice");
      if (s == 0) break;
      moved += (uint64_t)s;
      while (s > 0) {
        ssize_t d = splice(p[0], NULL, null, NULL, (size_t)s, SPLICE_F_MOVE);
        if (d <= 0) die("splice to /dev/null");
        s -= d;
      }
    }
  }
  double secs = now() - t0;
  close(fd);
  printf("{\"ok\":%s,\"dir\":\"%s\",\"bytes\":%llu,\"secs\":%.6f,\"gbps\":%.4f}\n", moved == bytes ? "true" : "false",
         up ? "up" : "down", (unsigned long long)moved, secs, moved * 8 / secs / 1e9);
  return moved == bytes ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// conns / hold: many non-blocking connections, each hello → 64-byte reply

enum { C_IDLE, C_CONNECTING, C_READING, C_HELD };

struct slot {
  int fd, state;
  size_t got;
  double t0;
};

static uint8_t g_hello[600];
static size_t g_hello_len;
static int g_port, g_errors;
static char g_first_error[128];

static void note_error(const char *what, int err) {
  if (g_errors++ == 0) snprintf(g_first_error, sizeof g_first_error, "%s: %s", what, strerror(err));
}

static void slot_close(struct slot *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1, s->state = C_IDLE;
}

static void slot_start(int ep, struct slot *s) {
  struct sockaddr_in a = loopback(g_port);
  s->t0 = now(), s->got = 0;
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) die("socket");
  int r = connect(s->fd, (struct sockaddr *)&a, sizeof a);
  if (r != 0 && errno != EINPROGRESS) {
    note_error("connect", errno);
    close(s->fd), s->fd = -1, s->state = C_IDLE;
    return;
  }
  s->state = C_CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

// Advances one connection; returns 1 when its 64-byte reply has fully arrived.
static int slot_step(int ep, struct slot *s) {
  if (s->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return note_error("connect", err), slot_close(s), 0;
    if (write(s->fd, g_hello, g_hello_len) != (ssize_t)g_hello_len) return note_error("write hello", errno), slot_close(s), 0;
    s->state = C_READING;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
    return 0;
  }
  if (s->state != C_READING) return 0;
  char buf[256];
  ssize_t n = read(s->fd, buf, sizeof buf);
  if (n < 0 && errno == EAGAIN) return 0;
  if (n <= 0) return note_error("read reply", n == 0 ? ECONNRESET : errno), slot_close(s), 0;
  s->got += (size_t)n;
  return s->got >= REPLY_LEN;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int conns(int conc, double secs, long count) {
  g_hello_len = build_hello(g_hello, OP_REPLY, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc((size_t)conc, sizeof *slots);
  size_t cap = 1 << 16, done = 0;
  double *lat = malloc(cap * sizeof *lat);
  double t0 = now(), deadline = t0 + secs, last = t0;
  int active = 0;
  for (int i = 0; i < conc; i++) slots[i].fd = -1;
  for (;;) {
    double t = now();
    int more = t < deadline && (count <= 0 || (long)done + active < count);
    for (int i = 0; i < conc; i++)
      if (slots[i].state == C_IDLE && more && (count <= 0 || (long)done + active < count))
        if (slot_start(ep, &slots[i]), slots[i].state != C_IDLE) active++;
    if (active == 0 && (!more || g_errors > 100000)) break;
    if (t > deadline + 5) break;  // stragglers: give up on them
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      struct slot *s = evs[i].data.ptr;
      int finished = slot_step(ep, s);
      if (finished) {
        last = now();
        if (done == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
        lat[done++] = (last - s->t0) * 1e3;
        slot_close(s);
      }
      if (s->state == C_IDLE) active--;
    }
  }
  double elapsed = last - t0;
  qsort(lat, done, sizeof *lat, cmp_double);
  double p50 = done ? lat[done / 2] : 0, p99 = done ? lat[(size_t)(done * 0.99)] : 0;
  printf("{\"ok\":%s,\"conns\":%zu,\"secs\":%.4f,\"cps\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"errors\":%d,"
         "\"unfinished\":%d,\"first_error\":\"%s\"}\n",
         done > 0 ? "true" : "false", done, elapsed, elapsed > 0 ? done / elapsed : 0, p50, p99, g_errors, active,
         g_first_error);
  return done > 0 ? 0 : 1;
}

static int hold(int n) {
  g_hello_len = build_hello(g_hello, OP_REPLY, 0);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc((size_t)n, sizeof *slots);
  int inflight = 0, held = 0;
  double t0 = now();
  for (int i = 0; i < n; i++) slots[i].fd = -1;
  // Few connects in flight at once, so small listen backlogs (socat's is 5) don't drop SYNs.
  while (held < n) {
    for (int i = 0; i < n && inflight < 32; i++)
      if (slots[i].state == C_IDLE)
        if (slot_start(ep, &slots[i]), slots[i].state != C_IDLE) inflight++;
    if (now() - t0 > 60 || g_errors > 200) {
      printf("{\"ok\":false,\"held\":%d,\"errors\":%d,\"first_error\":\"%s\"}\n", held, g_errors, g_first_error);
      return 1;
    }
    struct epoll_event evs[256];
    int k = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < k; i++) {
      struct slot *s = evs[i].data.ptr;
      if (slot_step(ep, s)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
        s->state = C_HELD, held++, inflight--;
      } else if (s->state == C_IDLE) {
        inflight--;
      }
    }
  }
  printf("{\"ok\":true,\"held\":%d,\"secs\":%.4f,\"errors\":%d}\n", held, now() - t0, g_errors);
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {}  // hold until the orchestrator closes our stdin
  for (int i = 0; i < n; i++) slot_close(&slots[i]);
  return 0;
}

// ---------------------------------------------------------------------------------------------

static const char *arg(int argc, char **argv, const char *name, const char *def) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return i + 1 < argc ? argv[i + 1] : "";
  return def;
}

static int flag(int argc, char **argv, const char *name) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  const char *mode = argc > 1 ? argv[1] : "";
  g_port = atoi(arg(argc, argv, "--port", "0"));
  if (strcmp(mode, "server") == 0) return serve(g_port);
  if (strcmp(mode, "stream") == 0)
    return stream(g_port, strtoull(arg(argc, argv, "--bytes", "1073741824"), NULL, 10), flag(argc, argv, "--up"));
  if (strcmp(mode, "conns") == 0)
    return conns(atoi(arg(argc, argv, "--conc", "32")), atof(arg(argc, argv, "--secs", "5")),
                 atol(arg(argc, argv, "--count", "0")));
  if (strcmp(mode, "hold") == 0) return hold(atoi(arg(argc, argv, "--n", "1000")));
  if (strcmp(mode, "hello") == 0) {  // the ClientHello bytes, for inspection (e.g. | openssl asn1parse)
    uint8_t h[600];
    size_t n = build_hello(h, OP_REPLY, 0);
    return fwrite(h, 1, n, stdout) == n ? 0 : 1;
  }
  fprintf(stderr, "usage: loadgen server|stream|conns|hold|hello [--port P] ...\n");
  return 2;
}

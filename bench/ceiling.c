// bench/ceiling.c — the upper bound for a splice() forwarder: accept, connect the backend, and one
// blocking thread per direction moving socket → pipe → socket. No SNI parsing, no event loop, no
// timeouts: the least work a forwarder can do per byte and per connection.
//
//   ceiling LISTEN_PORT BACKEND_PORT [PIPE_BYTES]      (127.0.0.1 on both sides)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int g_pipe_bytes = 1 << 20;

struct pair {
  int client, backend;
  atomic_int refs;  // the last direction to finish closes both sockets
};

struct dir {
  struct pair *pair;
  int from, to;
};

static void *pump(void *arg) {
  struct dir *d = arg;
  int p[2], failed = 0;
  if (pipe2(p, O_CLOEXEC) != 0) {
    failed = 1;
  } else {
    fcntl(p[1], F_SETPIPE_SZ, g_pipe_bytes);
    for (;;) {
      ssize_t n = splice(d->from, NULL, p[1], NULL, (size_t)g_pipe_bytes, SPLICE_F_MOVE | SPLICE_F_MORE);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed = n < 0;
        break;
      }
      while (n > 0) {
        ssize_t m = splice(p[0], NULL, d->to, NULL, (size_t)n, SPLICE_F_MOVE);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) {
          failed = 1;
          break;
        }
        n -= m;
      }
      if (failed) break;
    }
    close(p[0]), close(p[1]);
  }
  // EOF is passed on as a half-close; an error tears down both sides so the other thread wakes.
  if (failed) {
    shutdown(d->from, SHUT_RDWR), shutdown(d->to, SHUT_RDWR);
  } else {
    shutdown(d->to, SHUT_WR);
  }
  struct pair *pr = d->pair;
  free(d);
  if (atomic_fetch_sub(&pr->refs, 1) == 1) {
    close(pr->client), close(pr->backend);
    free(pr);
  }
  return NULL;
}

static void start(pthread_attr_t *attr, struct pair *pr, int from, int to) {
  struct dir *d = malloc(sizeof *d);
  d->pair = pr, d->from = from, d->to = to;
  pthread_t t;
  if (pthread_create(&t, attr, pump, d) != 0) {
    perror("ceiling: pthread_create");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ceiling LISTEN_PORT BACKEND_PORT [PIPE_BYTES]\n");
    return 2;
  }
  if (argc > 3) g_pipe_bytes = atoi(argv[3]);
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &rl);

  struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  struct sockaddr_in ba = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  la.sin_addr.s_addr = ba.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&la, sizeof la) != 0 || listen(ls, 4096) != 0) {
    perror("ceiling: listen");
    return 1;
  }
  // Small stacks: a thousand held connections are two thousand mostly idle threads.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

  for (;;) {
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("ceiling: accept");
      usleep(10000);
      continue;
    }
    int b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b < 0 || connect(b, (struct sockaddr *)&ba, sizeof ba) != 0) {
      close(c);
      if (b >= 0) close(b);
      continue;
    }
    struct pair *pr = malloc(sizeof *pr);
    pr->client = c, pr->backend = b;
    atomic_init(&pr->refs, 2);
    start(&attr, pr, c, b);
    start(&attr, pr, b, c);
  }
}

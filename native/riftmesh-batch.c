/*
 * riftmesh-batch: both ends of a BATCH on a plain side channel, in C, each exchange on a thread
 * of its own. Where this addon does not load, riftmesh does the same in JavaScript.
 *
 *   receiveBatch(fd, items, options, done) -> handle      the target (src/transfer/native-recv.ts)
 *   sendBatch(fd, items, options, done) -> handle         the holder (src/transfer/native-send.ts)
 *   cancel(handle)
 *   available() -> true, or a string saying why receiveBatch cannot run (no sha256 here)
 *
 * receiveBatch: the caller has sent the BATCH request and stopped Node reading the socket. This
 * reads the answers straight off it — one `uint32be(n) • TransferFrame` per item, never a byte
 * past the last — and, per HEADER, checks the frame against the item, hashes the bytes (sha256
 * and, for `.jsonl`, the game count, as file-info.ts does) and only when they are the expected
 * file writes them to `<dest>.partial` (never through a symlink). When the answers are in (or
 * the exchange broke off), every staged file is made durable with one syncfs per file system,
 * renamed into place, and the renames made durable with one more syncfs — the same sequence as
 * disk-ops.ts `writeVerified`.
 *
 * sendBatch: the holder has checked each item against its manifest and the path rules (items it
 * refused come as ready SKIP frames) and has nothing of its own queued on the socket. Per file
 * this opens it, proves the opened file lies inside the data dir and is still the scanned
 * version (as disk-ops.ts `readListed` does), writes the HEADER's fields and sends the bytes
 * with sendfile(2) — no copy through user space. A file that fails those checks gets a SKIP
 * (CHANGED, BAD_PATH or INTERNAL), built here.
 *
 * `done(result)` is called on the JS thread with one outcome per item. The socket is used
 * through a dup() of its descriptor, so the caller closing its socket can never make a thread
 * use another file; `cancel` wakes the thread through an eventfd. A wait longer than
 * `idleTimeoutMs` for the socket ends the exchange (as the JS session's idle timeout does).
 * sha256 comes from the OpenSSL that Node itself exports, found by name at load time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>
#include "napi-export.h"

/* ---- OpenSSL's digest API, from the running Node ---- */

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;
static const EVP_MD *(*p_sha256)(void);
static EVP_MD_CTX *(*p_ctx_new)(void);
static void (*p_ctx_free)(EVP_MD_CTX *);
static int (*p_init)(EVP_MD_CTX *, const EVP_MD *, void *);
static int (*p_update)(EVP_MD_CTX *, const void *, size_t);
static int (*p_final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
static const char *digest_missing = NULL;

static void find_digest(void) {
  p_sha256 = (const EVP_MD *(*)(void))dlsym(RTLD_DEFAULT, "EVP_sha256");
  p_ctx_new = (EVP_MD_CTX *(*)(void))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_new");
  p_ctx_free = (void (*)(EVP_MD_CTX *))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_free");
  p_init = (int (*)(EVP_MD_CTX *, const EVP_MD *, void *))dlsym(RTLD_DEFAULT, "EVP_DigestInit_ex");
  p_update = (int (*)(EVP_MD_CTX *, const void *, size_t))dlsym(RTLD_DEFAULT, "EVP_DigestUpdate");
  p_final = (int (*)(EVP_MD_CTX *, unsigned char *, unsigned int *))dlsym(RTLD_DEFAULT, "EVP_DigestFinal_ex");
  if (!p_sha256 || !p_ctx_new || !p_ctx_free || !p_init || !p_update || !p_final) {
    digest_missing = "this Node.js exports no OpenSSL digest functions (EVP_sha256 and friends)";
  }
}

/* ---- one exchange ---- */

enum outcome_kind { O_NONE = 0, O_OK, O_SKIP, O_CHANGED, O_MISMATCH, O_IO };
enum status { S_OK = 0, S_EOF, S_TIMEOUT, S_CANCELLED, S_PROTOCOL, S_READ, S_ERROR_FRAME, S_NOMEM, S_WRITE, S_TRUNCATED };
static const char *const status_name[] = { "ok", "eof", "timeout", "cancelled", "protocol", "read", "error-frame", "nomem", "write", "truncated" };

/* ---- an exchange on a thread of its own: what both ends share ---- */

typedef struct job_base job_base_t;
struct job_base {
  int sock;              /* a dup of the caller's socket; closed by the thread when it is done */
  int efd;               /* cancel() writes it, the thread polls it */
  int timeout_ms;
  atomic_int cancelled;
  atomic_int refs;       /* the thread (until its callback has run) and the JS handle */
  napi_threadsafe_function tsfn;
  char message[256];
  void *(*run)(void *);
  void (*to_js)(napi_env, job_base_t *, napi_value *);
  void (*destroy)(job_base_t *);
};

static void job_unref(job_base_t *b) {
  if (atomic_fetch_sub(&b->refs, 1) != 1) return;
  if (b->efd >= 0) close(b->efd);
  if (b->sock >= 0) close(b->sock);
  b->destroy(b);
}

/** Wait until the socket is ready for `events`: S_OK, or what ended the wait (`failure` for an error of poll itself). */
static int wait_socket(job_base_t *b, short events, int failure) {
  for (;;) {
    struct pollfd p[2] = { { .fd = b->sock, .events = events }, { .fd = b->efd, .events = POLLIN } };
    int pr = poll(p, 2, b->timeout_ms);
    if (pr == 0) return S_TIMEOUT;
    if (pr < 0) {
      if (errno == EINTR) continue;
      snprintf(b->message, sizeof b->message, "poll: %s", strerror(errno));
      return failure;
    }
    if (p[1].revents != 0 || atomic_load(&b->cancelled)) return S_CANCELLED;
    return S_OK;
  }
}

/** The thread's last step: let go of the socket, then hand the result to JS. */
static void finish(job_base_t *b) {
  close(b->sock);
  b->sock = -1;
  napi_call_threadsafe_function(b->tsfn, b, napi_tsfn_blocking);
  napi_release_threadsafe_function(b->tsfn, napi_tsfn_release);
}

/* TransferFrame kinds and fields (protocols/riftmesh.proto) */
#define KIND_HEADER 0
#define KIND_ERROR 3
#define KIND_SKIP 6

typedef struct {
  char *dest;
  char *partial;
  uint64_t size;
  char sha[65];
  int count_lines;
  /* outcome */
  int kind;
  char got[65];
  uint64_t games;
  uint32_t code;
  char *message;
  /* staged: written to its partial, not yet synced or renamed */
  int fd;
  dev_t dev;
  uint64_t st_size;
  double mtime_ms;
} item_t;

typedef struct {
  job_base_t base;
  int fsync;
  uint32_t max_frame;
  uint32_t version;
  size_t n;
  item_t *items;
  /* result */
  int status;
  uint32_t err_code;
  uint32_t retry_after;
  size_t answered;
} job_t;

static void recv_destroy(job_base_t *b) {
  job_t *j = (job_t *)b;
  for (size_t i = 0; i < j->n; i++) {
    free(j->items[i].dest);
    free(j->items[i].partial);
    free(j->items[i].message);
  }
  free(j->items);
  free(j);
}

/** "ENOSPC (write)", like disk-ops.ts errText. */
static char *errno_text(int err, const char *syscall) {
  const char *name = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  name = strerrorname_np(err);
#endif
  char buf[160];
  if (name != NULL) snprintf(buf, sizeof buf, "%s (%s)", name, syscall);
  else snprintf(buf, sizeof buf, "errno %d (%s)", err, syscall);
  return strdup(buf);
}

/** Some bytes into `buf` (at most `want`), waiting for them; a status on failure. */
static int read_some(job_t *j, uint8_t *buf, size_t want, size_t *got) {
  for (;;) {
    if (atomic_load(&j->base.cancelled)) return S_CANCELLED;
    ssize_t r = read(j->base.sock, buf, want);
    if (r > 0) {
      *got = (size_t)r;
      return S_OK;
    }
    if (r == 0) return S_EOF;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      snprintf(j->base.message, sizeof j->base.message, "read: %s", strerror(errno));
      return S_READ;
    }
    int st = wait_socket(&j->base, POLLIN, S_READ);
    if (st != S_OK) return st;
  }
}

/* ---- TransferFrame, decoded as far as a BATCH answer needs ---- */

typedef struct {
  uint64_t version, kind, size, offset, code, retry;
  const uint8_t *sha, *data, *msg;
  size_t sha_len, data_len, msg_len;
} frame_t;

static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return 0;
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

/** Decode; 0 when malformed (a field of a known number with the wrong wire type counts as malformed). */
static int decode(const uint8_t *p, size_t len, frame_t *f) {
  const uint8_t *end = p + len;
  memset(f, 0, sizeof *f);
  while (p < end) {
    uint64_t key, v;
    if (!varint(&p, end, &key)) return 0;
    uint64_t field = key >> 3;
    int wt = (int)(key & 7);
    if (field == 0) return 0;
    if (wt == 0) {
      if (!varint(&p, end, &v)) return 0;
      switch (field) {
        case 1: f->version = v; break;
        case 2: f->kind = v; break;
        case 3: f->size = v; break;
        case 6: f->offset = v; break;
        case 8: f->code = v; break;
        case 10: f->retry = v; break;
        case 4: case 13: break;
        case 5: case 7: case 9: case 11: case 12: case 14: case 15: return 0;
        default: break;
      }
    } else if (wt == 2) {
      if (!varint(&p, end, &v) || v > (uint64_t)(end - p)) return 0;
      switch (field) {
        case 5: f->sha = p; f->sha_len = (size_t)v; break;
        case 7: f->data = p; f->data_len = (size_t)v; break;
        case 9: f->msg = p; f->msg_len = (size_t)v; break;
        case 11: case 12: case 14: case 15: break;
        case 1: case 2: case 3: case 4: case 6: case 8: case 10: case 13: return 0;
        default: break;
      }
      p += v;
    } else if (wt == 1 || wt == 5) {
      size_t k = wt == 1 ? 8 : 4;
      if (field <= 15) return 0;
      if ((size_t)(end - p) < k) return 0;
      p += k;
    } else {
      return 0;
    }
  }
  return 1;
}

/* ---- file work ---- */

static const char HEX[] = "0123456789abcdef";

/** sha256 (hex) and, when asked, the game count: non-empty lines, a lone "\r" counting as empty. */
static int digest(job_t *j, const uint8_t *data, size_t len, int count_lines, char out[65], uint64_t *games) {
  EVP_MD_CTX *ctx = p_ctx_new();
  unsigned char md[32];
  unsigned int mdlen = 0;
  int ok = ctx != NULL && p_init(ctx, p_sha256(), NULL) == 1 && p_update(ctx, data, len) == 1 && p_final(ctx, md, &mdlen) == 1 && mdlen == 32;
  if (ctx != NULL) p_ctx_free(ctx);
  if (!ok) {
    snprintf(j->base.message, sizeof j->base.message, "sha256 failed in OpenSSL");
    return 0;
  }
  for (int i = 0; i < 32; i++) {
    out[2 * i] = HEX[md[i] >> 4];
    out[2 * i + 1] = HEX[md[i] & 15];
  }
  out[64] = 0;
  *games = 0;
  if (count_lines) {
    size_t start = 0;
    while (start < len) {
      const uint8_t *nl = memchr(data + start, '\n', len - start);
      size_t end = nl == NULL ? len : (size_t)(nl - data);
      if (end > start && !(end - start == 1 && data[start] == '\r')) (*games)++;
      if (nl == NULL) break;
      start = end + 1;
    }
  }
  return 1;
}

/** Open `<dest>.partial` for a fresh write, never through a symlink (whatever is there is replaced). */
static int open_partial(const char *partial) {
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(partial, flags | O_EXCL, 0644);
  if (fd >= 0 || errno != EEXIST) return fd;
  struct stat st;
  if (lstat(partial, &st) == 0 && !S_ISREG(st.st_mode)) unlink(partial);
  return open(partial, flags | O_TRUNC, 0644);
}

static void fail_io(item_t *it, int err, const char *syscall) {
  if (it->fd >= 0) close(it->fd);
  it->fd = -1;
  unlink(it->partial);
  it->kind = O_IO;
  free(it->message);
  it->message = errno_text(err, syscall);
}

/** Write a verified file to its partial and leave it open (staged), or record why not. */
static void stage(item_t *it, const uint8_t *data, size_t len) {
  it->fd = open_partial(it->partial);
  if (it->fd < 0) {
    it->kind = O_IO;
    it->message = errno_text(errno, "open");
    it->fd = -1;
    return;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = pwrite(it->fd, data + off, len - off, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_io(it, errno, "write");
      return;
    }
    off += (size_t)w;
  }
  struct stat st;
  if (fstat(it->fd, &st) != 0) {
    fail_io(it, errno, "fstat");
    return;
  }
  it->dev = st.st_dev;
  it->st_size = (uint64_t)st.st_size;
  it->mtime_ms = (double)st.st_mtim.tv_sec * 1e3 + (double)st.st_mtim.tv_nsec / 1e6;
  it->kind = O_OK;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

/**
 * Make the staged files durable and put them in place: one syncfs per file system, every rename,
 * one more syncfs per file system for the renames (disk-ops.ts writeVerified, with syncfs).
 */
static void place(job_t *j) {
  if (j->fsync) {
    for (size_t i = 0; i < j->n; i++) {
      item_t *a = &j->items[i];
      if (a->fd < 0) continue;
      int seen = 0;
      for (size_t k = 0; k < i && !seen; k++) seen = j->items[k].fd >= 0 && j->items[k].dev == a->dev;
      if (seen) continue;
      if (syncfs(a->fd) != 0) {
        int err = errno;
        for (size_t k = i; k < j->n; k++) {
          if (j->items[k].fd >= 0 && j->items[k].dev == a->dev) fail_io(&j->items[k], err, "syncfs");
        }
      }
    }
  }
  for (size_t i = 0; i < j->n; i++) {
    item_t *a = &j->items[i];
    if (a->fd < 0) continue;
    close(a->fd);
    a->fd = -1;
    if (rename(a->partial, a->dest) != 0) {
      fail_io(a, errno, "rename");
      continue;
    }
    a->fd = -2; /* renamed, its renames to be made durable */
  }
  if (j->fsync) {
    for (size_t i = 0; i < j->n; i++) {
      item_t *a = &j->items[i];
      if (a->fd != -2) continue;
      int seen = 0;
      for (size_t k = 0; k < i && !seen; k++) seen = j->items[k].fd == -2 && j->items[k].dev == a->dev;
      if (seen) continue;
      char *dir = dir_of(a->dest);
      int dfd = dir == NULL ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int err = dir == NULL ? ENOMEM : errno;
      free(dir);
      if (dfd >= 0) {
        if (syncfs(dfd) != 0) err = errno;
        else err = 0;
        close(dfd);
      }
      if (err != 0) {
        char *why = errno_text(err, "syncfs");
        for (size_t k = i; k < j->n; k++) {
          item_t *b = &j->items[k];
          if (b->fd != -2 || b->dev != a->dev || b->kind != O_OK) continue;
          b->kind = O_IO;
          free(b->message);
          size_t m = strlen(why) + 48;
          b->message = malloc(m);
          if (b->message != NULL) snprintf(b->message, m, "the rename was not made durable: %s", why);
        }
        free(why);
      }
    }
  }
  for (size_t i = 0; i < j->n; i++) if (j->items[i].fd == -2) j->items[i].fd = -1;
}

/** Read and handle one answer per item; the status that ended the exchange. */
static int exchange(job_t *j) {
  uint8_t head[4];
  size_t head_fill = 0;
  size_t cap = 0;
  uint8_t *buf = NULL;
  int st = S_OK;
  for (size_t i = 0; i < j->n && st == S_OK; i++) {
    item_t *it = &j->items[i];
    while (head_fill < 4 && st == S_OK) {
      size_t got = 0;
      st = read_some(j, head + head_fill, 4 - head_fill, &got);
      head_fill += got;
    }
    if (st != S_OK) break;
    head_fill = 0;
    uint32_t len = ((uint32_t)head[0] << 24) | ((uint32_t)head[1] << 16) | ((uint32_t)head[2] << 8) | head[3];
    if (len > j->max_frame) {
      snprintf(j->base.message, sizeof j->base.message, "a frame of %u bytes is over the limit %u", len, j->max_frame);
      st = S_PROTOCOL;
      break;
    }
    int more = i + 1 < j->n;
    if (cap < (size_t)len + 4) {
      free(buf);
      cap = (size_t)len + 4;
      buf = malloc(cap);
      if (buf == NULL) {
        st = S_NOMEM;
        snprintf(j->base.message, sizeof j->base.message, "out of memory for a frame of %u bytes", len);
        break;
      }
    }
    /* the frame, and the next frame's length where it is already there (never bytes past it) */
    size_t fill = 0;
    while (fill < len && st == S_OK) {
      size_t got = 0;
      st = read_some(j, buf + fill, (size_t)len - fill + (more ? 4 : 0), &got);
      fill += got;
    }
    if (st != S_OK) break;
    head_fill = fill - len;
    memcpy(head, buf + len, head_fill);
    frame_t f;
    if (!decode(buf, len, &f)) {
      snprintf(j->base.message, sizeof j->base.message, "malformed frame");
      st = S_PROTOCOL;
      break;
    }
    if (f.version != j->version) {
      snprintf(j->base.message, sizeof j->base.message, "unknown frame version %llu", (unsigned long long)f.version);
      st = S_PROTOCOL;
      break;
    }
    if (f.kind == KIND_ERROR) {
      j->err_code = (uint32_t)f.code;
      j->retry_after = f.retry > UINT32_MAX ? UINT32_MAX : (uint32_t)f.retry;
      snprintf(j->base.message, sizeof j->base.message, "%.*s", (int)(f.msg_len > 200 ? 200 : f.msg_len), f.msg != NULL ? (const char *)f.msg : "");
      st = S_ERROR_FRAME;
      break;
    }
    j->answered = i + 1;
    if (f.kind == KIND_SKIP) {
      it->kind = O_SKIP;
      it->code = (uint32_t)f.code;
      it->message = strndup(f.msg != NULL ? (const char *)f.msg : "", f.msg_len > 1024 ? 1024 : f.msg_len);
      continue;
    }
    if (f.kind != KIND_HEADER) {
      j->answered = i;
      snprintf(j->base.message, sizeof j->base.message, "expected HEADER or SKIP in a batch, got %llu", (unsigned long long)f.kind);
      st = S_PROTOCOL;
      break;
    }
    if (f.size != it->size || f.offset != 0 || f.data_len != it->size) {
      j->answered = i;
      snprintf(j->base.message, sizeof j->base.message, "%zu bytes of %llu at %llu, expected %llu at 0",
               f.data_len, (unsigned long long)f.size, (unsigned long long)f.offset, (unsigned long long)it->size);
      st = S_PROTOCOL;
      break;
    }
    if (f.sha_len != 64 || memcmp(f.sha, it->sha, 64) != 0) {
      it->kind = O_CHANGED;
      continue;
    }
    if (!digest(j, f.data, f.data_len, it->count_lines, it->got, &it->games)) {
      it->kind = O_IO;
      it->message = strdup(j->base.message);
      j->base.message[0] = 0;
      continue;
    }
    if (memcmp(it->got, it->sha, 64) != 0) {
      it->kind = O_MISMATCH;
      continue;
    }
    stage(it, f.data, f.data_len);
  }
  free(buf);
  return st;
}

static void *recv_run(void *arg) {
  job_t *j = arg;
  j->status = exchange(j);
  place(j); /* what arrived intact is placed even when the rest broke off */
  finish(&j->base);
  return NULL;
}

/* ---- the holder's end: sendBatch ---- */

enum send_kind { SO_NONE = 0, SO_SENT, SO_SKIP, SO_REFUSED };
static const char *const send_kind_name[] = { "none", "sent", "skip", "refused" };

typedef struct {
  /* in: a ready SKIP frame (its payload), or a listed file */
  uint8_t *skip;
  size_t skip_len;
  char *path;
  uint64_t size;
  int64_t mtime_ms;
  char sha[65];
  /* out */
  int kind;
  const char *code; /* SO_REFUSED: CHANGED, BAD_PATH or INTERNAL */
  char *message;
} send_item_t;

typedef struct {
  job_base_t base;
  char *root;
  uint32_t version;
  size_t n;
  send_item_t *items;
  int status;
  size_t served;
  uint64_t bytes;
} send_job_t;

static void send_destroy(job_base_t *b) {
  send_job_t *j = (send_job_t *)b;
  for (size_t i = 0; i < j->n; i++) {
    free(j->items[i].skip);
    free(j->items[i].path);
    free(j->items[i].message);
  }
  free(j->items);
  free(j->root);
  free(j);
}

/** All of `buf` onto the socket; MSG_MORE when more of the frame follows at once. */
static int send_all(send_job_t *j, const uint8_t *buf, size_t len, int more) {
  while (len > 0) {
    if (atomic_load(&j->base.cancelled)) return S_CANCELLED;
    ssize_t w = send(j->base.sock, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (w > 0) {
      buf += w;
      len -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int st = wait_socket(&j->base, POLLOUT, S_WRITE);
      if (st != S_OK) return st;
      continue;
    }
    snprintf(j->base.message, sizeof j->base.message, "write: %s", strerror(w < 0 ? errno : EPIPE));
    return S_WRITE;
  }
  return S_OK;
}

/** `size` bytes of the open file onto the socket, from its start, by sendfile(2). */
static int send_file(send_job_t *j, int fd, uint64_t size) {
  off_t off = 0;
  while ((uint64_t)off < size) {
    if (atomic_load(&j->base.cancelled)) return S_CANCELLED;
    size_t want = size - (uint64_t)off > 0x7ffff000u ? 0x7ffff000u : (size_t)(size - (uint64_t)off);
    ssize_t w = sendfile(j->base.sock, fd, &off, want);
    if (w > 0) continue;
    if (w == 0) {
      /* the file got shorter since fstat: the frame cannot be finished */
      snprintf(j->base.message, sizeof j->base.message, "a file shrank while it was sent (%lld of %llu bytes)", (long long)off, (unsigned long long)size);
      return S_TRUNCATED;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int st = wait_socket(&j->base, POLLOUT, S_WRITE);
      if (st != S_OK) return st;
      continue;
    }
    snprintf(j->base.message, sizeof j->base.message, "sendfile: %s", strerror(errno));
    return S_WRITE;
  }
  return S_OK;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/** A SKIP frame for an item this end refused (TransferFrame: version, kind SKIP, code, message). */
static int send_refusal(send_job_t *j, send_item_t *it, const char *code_name, int code, const char *message) {
  it->kind = SO_REFUSED;
  it->code = code_name;
  it->message = strdup(message);
  uint8_t f[4 + 32 + 512];
  size_t msg = strlen(message) > 512 ? 512 : strlen(message);
  size_t n = 4;
  f[n++] = 0x08;
  n += put_varint(f + n, j->version);
  f[n++] = 0x10;
  f[n++] = KIND_SKIP;
  f[n++] = 0x40;
  n += put_varint(f + n, (uint64_t)code);
  f[n++] = 0x4a;
  n += put_varint(f + n, msg);
  memcpy(f + n, message, msg);
  n += msg;
  put_be32(f, (uint32_t)(n - 4));
  return send_all(j, f, n, 0);
}

/* TransferFrame.Code numbers */
#define CODE_BAD_PATH 2
#define CODE_CHANGED 4
#define CODE_INTERNAL 6

/** Whether the open `fd` is a file inside the data dir (not the dir itself), by its /proc/self/fd link. */
static int opened_inside(send_job_t *j, int fd, const char *path) {
  char link[64], real[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, real, sizeof real - 1);
  if (n < 0) {
    if (realpath(path, real) == NULL) return 0;
  } else {
    real[n] = 0;
  }
  size_t r = strlen(j->root);
  if (strcmp(j->root, "/") == 0) return strcmp(real, "/") != 0;
  return strncmp(real, j->root, r) == 0 && real[r] == '/' && real[r + 1] != 0;
}

/** One listed file: checked as disk-ops.ts readListed checks it, then its HEADER and its bytes (or a SKIP). */
static int send_listed(send_job_t *j, send_item_t *it) {
  int fd = open(it->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return send_refusal(j, it, "CHANGED", CODE_CHANGED, "deleted since the last scan");
    if (err == ELOOP) return send_refusal(j, it, "BAD_PATH", CODE_BAD_PATH, "a symlink loop");
    char *why = errno_text(err, "open");
    char m[200];
    snprintf(m, sizeof m, "open: %s", why != NULL ? why : "failed");
    free(why);
    return send_refusal(j, it, "INTERNAL", CODE_INTERNAL, m);
  }
  int st;
  struct stat sb;
  if (!opened_inside(j, fd, it->path)) {
    st = send_refusal(j, it, "BAD_PATH", CODE_BAD_PATH, "a symlink leads outside the data dir");
  } else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != it->size ||
             (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 != it->mtime_ms) {
    st = send_refusal(j, it, "CHANGED", CODE_CHANGED, "the file changed since the last scan");
  } else {
    /* uint32be(n) • version • size • mtimeMs • sha256 • data's tag and length; then the data */
    uint8_t h[4 + 2 + 10 + 1 + 10 + 1 + 10 + 2 + 64 + 1 + 10];
    size_t n = 4;
    h[n++] = 0x08;
    n += put_varint(h + n, j->version);
    h[n++] = 0x18;
    n += put_varint(h + n, it->size);
    h[n++] = 0x20;
    n += put_varint(h + n, (uint64_t)it->mtime_ms);
    h[n++] = 0x2a;
    h[n++] = 64;
    memcpy(h + n, it->sha, 64);
    n += 64;
    h[n++] = 0x3a;
    n += put_varint(h + n, it->size);
    if (n - 4 + it->size > UINT32_MAX) {
      st = send_refusal(j, it, "INTERNAL", CODE_INTERNAL, "too large for one frame");
    } else {
      put_be32(h, (uint32_t)(n - 4 + it->size));
      st = send_all(j, h, n, it->size > 0);
      if (st == S_OK) st = send_file(j, fd, it->size);
      if (st == S_OK) {
        it->kind = SO_SENT;
        j->served++;
        j->bytes += it->size;
      }
    }
  }
  close(fd);
  return st;
}

static void *send_run(void *arg) {
  send_job_t *j = arg;
  int st = S_OK;
  for (size_t i = 0; i < j->n && st == S_OK; i++) {
    send_item_t *it = &j->items[i];
    if (it->skip != NULL) {
      uint8_t head[4];
      put_be32(head, (uint32_t)it->skip_len);
      st = send_all(j, head, 4, 1);
      if (st == S_OK) st = send_all(j, it->skip, it->skip_len, 0);
      if (st == S_OK) it->kind = SO_SKIP;
    } else {
      st = send_listed(j, it);
    }
  }
  j->status = st;
  finish(&j->base);
  return NULL;
}

/* ---- JS side ---- */

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s != NULL ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static void set(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}

static const char *const kind_name[] = { "none", "ok", "skip", "changed", "mismatch", "io" };

static void recv_to_js(napi_env env, job_base_t *b, napi_value *out) {
  job_t *j = (job_t *)b;
  napi_value result, outcomes;
  napi_create_object(env, &result);
  set(env, result, "status", str(env, status_name[j->status]));
  set(env, result, "message", str(env, j->base.message));
  set(env, result, "code", num(env, j->err_code));
  set(env, result, "retryAfterMs", num(env, j->retry_after));
  set(env, result, "answered", num(env, (double)j->answered));
  napi_create_array_with_length(env, j->n, &outcomes);
  for (size_t i = 0; i < j->n; i++) {
    item_t *it = &j->items[i];
    napi_value o;
    napi_create_object(env, &o);
    set(env, o, "kind", str(env, kind_name[it->kind]));
    if (it->kind == O_OK) {
      set(env, o, "sha256", str(env, it->got));
      set(env, o, "gameCount", num(env, (double)it->games));
      set(env, o, "size", num(env, (double)it->st_size));
      set(env, o, "mtimeMs", num(env, it->mtime_ms));
    } else if (it->kind == O_MISMATCH) {
      set(env, o, "sha256", str(env, it->got));
    } else if (it->kind == O_SKIP) {
      set(env, o, "code", num(env, it->code));
      set(env, o, "message", str(env, it->message));
    } else if (it->kind == O_IO) {
      set(env, o, "message", str(env, it->message));
    }
    napi_set_element(env, outcomes, (uint32_t)i, o);
  }
  set(env, result, "outcomes", outcomes);
  *out = result;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  job_base_t *b = data;
  if (env != NULL && cb != NULL) {
    napi_value result, undef;
    napi_get_undefined(env, &undef);
    b->to_js(env, b, &result);
    napi_call_function(env, undef, cb, 1, &result, NULL);
  }
  job_unref(b);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  job_unref(data);
}

/**
 * Run `b` on a thread of its own over a dup of `fd`, calling `done` with its result; the handle
 * for cancel(), or NULL with an exception pending. Takes `b` over (freed on failure).
 */
static napi_value start_job(napi_env env, job_base_t *b, int32_t fd, napi_value done, const char *what) {
  char why[200];
  b->sock = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (b->sock < 0) {
    snprintf(why, sizeof why, "%s: dup: %s", what, strerror(errno));
    job_unref(b);
    napi_throw_error(env, "ERR_NATIVE_BATCH", why);
    return NULL;
  }
  b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (b->efd < 0) {
    snprintf(why, sizeof why, "%s: eventfd: %s", what, strerror(errno));
    job_unref(b);
    napi_throw_error(env, "ERR_NATIVE_BATCH", why);
    return NULL;
  }
  if (napi_create_threadsafe_function(env, done, NULL, str(env, what), 0, 1, NULL, NULL, NULL, call_js, &b->tsfn) != napi_ok) {
    job_unref(b);
    napi_throw_error(env, "ERR_NATIVE_BATCH", "could not create a thread-safe function");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, b, handle_finalize, NULL, &handle) != napi_ok) {
    napi_release_threadsafe_function(b->tsfn, napi_tsfn_abort);
    job_unref(b);
    napi_throw_error(env, "ERR_NATIVE_BATCH", "could not create a handle");
    return NULL;
  }
  atomic_fetch_add(&b->refs, 1); /* the handle's */
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&th, &attr, b->run, b);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    /* no thread: its reference goes here, the handle's with the handle */
    napi_release_threadsafe_function(b->tsfn, napi_tsfn_abort);
    job_unref(b);
    napi_throw_error(env, "ERR_NATIVE_BATCH", "could not start a thread");
    return NULL;
  }
  return handle;
}

/** A job's shared part, fresh: one reference (the thread's), nothing open yet. */
static void init_base(job_base_t *b, void *(*run)(void *), void (*to_js)(napi_env, job_base_t *, napi_value *), void (*destroy)(job_base_t *)) {
  b->sock = -1;
  b->efd = -1;
  atomic_init(&b->refs, 1);
  atomic_init(&b->cancelled, 0);
  b->run = run;
  b->to_js = to_js;
  b->destroy = destroy;
}

static int throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return 0;
}

static char *get_string(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  size_t len = 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* a NUL inside: no such path */
    free(s);
    return NULL;
  }
  return s;
}

static int get_number(napi_env env, napi_value obj, const char *name, double *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_double(env, v, out) == napi_ok;
}

/** A whole number from 0 to 2^53 - 1 (a JS safe integer). */
static int get_whole(napi_env env, napi_value obj, const char *name, uint64_t *out) {
  double d;
  if (!get_number(env, obj, name, &d) || !(d >= 0 && d <= 9007199254740991.0) || d != (double)(uint64_t)d) return 0;
  *out = (uint64_t)d;
  return 1;
}

/** The four arguments of receiveBatch and sendBatch: (fd, items, options, done); 0 with an exception pending. */
static int job_args(napi_env env, napi_callback_info info, napi_value argv[4], int32_t *fd, const char *what) {
  size_t argc = 4;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0 ||
      napi_typeof(env, argv[3], &t) != napi_ok || t != napi_function) {
    char m[160];
    snprintf(m, sizeof m, "%s(fd, items, options, done) expects a descriptor, items, options and a callback", what);
    return throw_type(env, m);
  }
  return 1;
}

static int get_bool(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  *out = b;
  return 1;
}

static int read_items(napi_env env, napi_value arr, job_t *j) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok || n == 0 || n > 4096) return throw_type(env, "receiveBatch: items must be an array of 1 to 4096 items");
  j->items = calloc(n, sizeof(item_t));
  if (j->items == NULL) return throw_type(env, "receiveBatch: out of memory");
  j->n = n;
  for (uint32_t i = 0; i < n; i++) {
    item_t *it = &j->items[i];
    it->fd = -1;
    napi_value o;
    if (napi_get_element(env, arr, i, &o) != napi_ok) return throw_type(env, "receiveBatch: bad item");
    it->dest = get_string(env, o, "dest");
    char *sha = get_string(env, o, "sha256");
    int ok = it->dest != NULL && it->dest[0] == '/' && sha != NULL && strlen(sha) == 64 &&
             get_whole(env, o, "size", &it->size) && get_bool(env, o, "countLines", &it->count_lines);
    if (ok) {
      memcpy(it->sha, sha, 65);
      size_t m = strlen(it->dest) + sizeof ".partial";
      it->partial = malloc(m);
      if (it->partial == NULL) ok = 0;
      else snprintf(it->partial, m, "%s.partial", it->dest);
    }
    free(sha);
    if (!ok) return throw_type(env, "receiveBatch: each item needs dest (an absolute path), sha256 (64 hex digits), size and countLines");
  }
  return 1;
}

static napi_value js_receive_batch(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  if (!job_args(env, info, argv, &fd, "receiveBatch")) return NULL;
  if (digest_missing != NULL) {
    napi_throw_error(env, "ERR_NO_DIGEST", digest_missing);
    return NULL;
  }
  job_t *j = calloc(1, sizeof(job_t));
  if (j == NULL) {
    napi_throw_error(env, "ENOMEM", "receiveBatch: out of memory");
    return NULL;
  }
  init_base(&j->base, recv_run, recv_to_js, recv_destroy);
  double max_frame, timeout, version;
  if (!read_items(env, argv[1], j)) {
    job_unref(&j->base);
    return NULL;
  }
  if (!get_bool(env, argv[2], "fsync", &j->fsync) || !get_number(env, argv[2], "maxFrameBytes", &max_frame) ||
      !get_number(env, argv[2], "idleTimeoutMs", &timeout) || !get_number(env, argv[2], "version", &version) ||
      !(max_frame >= 1 && max_frame <= 1 << 30) || !(timeout >= 1 && timeout <= INT_MAX) || !(version >= 0 && version <= UINT32_MAX)) {
    job_unref(&j->base);
    throw_type(env, "receiveBatch: options need fsync, maxFrameBytes (1 B to 1 GiB), idleTimeoutMs and version");
    return NULL;
  }
  j->max_frame = (uint32_t)max_frame;
  j->base.timeout_ms = (int)timeout;
  j->version = (uint32_t)version;
  return start_job(env, &j->base, fd, argv[3], "receiveBatch");
}

static void send_to_js(napi_env env, job_base_t *b, napi_value *out) {
  send_job_t *j = (send_job_t *)b;
  napi_value result, outcomes;
  napi_create_object(env, &result);
  set(env, result, "status", str(env, status_name[j->status]));
  set(env, result, "message", str(env, j->base.message));
  set(env, result, "served", num(env, (double)j->served));
  set(env, result, "bytes", num(env, (double)j->bytes));
  napi_create_array_with_length(env, j->n, &outcomes);
  for (size_t i = 0; i < j->n; i++) {
    send_item_t *it = &j->items[i];
    napi_value o;
    napi_create_object(env, &o);
    set(env, o, "kind", str(env, send_kind_name[it->kind]));
    if (it->kind == SO_REFUSED) {
      set(env, o, "code", str(env, it->code));
      set(env, o, "message", str(env, it->message));
    }
    napi_set_element(env, outcomes, (uint32_t)i, o);
  }
  set(env, result, "outcomes", outcomes);
  *out = result;
}

static int read_send_items(napi_env env, napi_value arr, send_job_t *j) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok || n == 0 || n > 4096) return throw_type(env, "sendBatch: items must be an array of 1 to 4096 items");
  j->items = calloc(n, sizeof(send_item_t));
  if (j->items == NULL) return throw_type(env, "sendBatch: out of memory");
  j->n = n;
  for (uint32_t i = 0; i < n; i++) {
    send_item_t *it = &j->items[i];
    napi_value o, skip;
    bool has_skip = false;
    if (napi_get_element(env, arr, i, &o) != napi_ok || napi_has_named_property(env, o, "skip", &has_skip) != napi_ok) return throw_type(env, "sendBatch: bad item");
    if (has_skip) {
      void *data = NULL;
      size_t len = 0;
      bool typed = false;
      if (napi_get_named_property(env, o, "skip", &skip) != napi_ok || napi_is_typedarray(env, skip, &typed) != napi_ok || !typed) return throw_type(env, "sendBatch: skip must be a Uint8Array");
      napi_typedarray_type type;
      if (napi_get_typedarray_info(env, skip, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array || len == 0 || len > 4096) return throw_type(env, "sendBatch: skip must be a Uint8Array of 1 to 4096 bytes");
      it->skip = malloc(len);
      if (it->skip == NULL) return throw_type(env, "sendBatch: out of memory");
      memcpy(it->skip, data, len);
      it->skip_len = len;
      continue;
    }
    it->path = get_string(env, o, "path");
    char *sha = get_string(env, o, "sha256");
    uint64_t mtime = 0;
    int ok = it->path != NULL && it->path[0] == '/' && sha != NULL && strlen(sha) == 64 &&
             get_whole(env, o, "size", &it->size) && get_whole(env, o, "mtimeMs", &mtime);
    if (ok) {
      memcpy(it->sha, sha, 65);
      it->mtime_ms = (int64_t)mtime;
    }
    free(sha);
    if (!ok) return throw_type(env, "sendBatch: each item needs skip (a SKIP frame), or path (absolute), size, mtimeMs (whole ms) and sha256 (64 hex digits)");
  }
  return 1;
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  if (!job_args(env, info, argv, &fd, "sendBatch")) return NULL;
  send_job_t *j = calloc(1, sizeof(send_job_t));
  if (j == NULL) {
    napi_throw_error(env, "ENOMEM", "sendBatch: out of memory");
    return NULL;
  }
  init_base(&j->base, send_run, send_to_js, send_destroy);
  double timeout, version;
  if (!read_send_items(env, argv[1], j)) {
    job_unref(&j->base);
    return NULL;
  }
  j->root = get_string(env, argv[2], "rootReal");
  if (j->root == NULL || j->root[0] != '/' || !get_number(env, argv[2], "idleTimeoutMs", &timeout) || !get_number(env, argv[2], "version", &version) ||
      !(timeout >= 1 && timeout <= INT_MAX) || !(version >= 0 && version <= UINT32_MAX)) {
    job_unref(&j->base);
    throw_type(env, "sendBatch: options need rootReal (an absolute path), idleTimeoutMs and version");
    return NULL;
  }
  j->base.timeout_ms = (int)timeout;
  j->version = (uint32_t)version;
  return start_job(env, &j->base, fd, argv[3], "sendBatch");
}

static napi_value js_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    throw_type(env, "cancel(handle) expects what receiveBatch or sendBatch returned");
    return NULL;
  }
  job_base_t *b = data;
  atomic_store(&b->cancelled, 1);
  uint64_t one = 1;
  ssize_t w = write(b->efd, &one, sizeof one);
  (void)w; /* a full counter (EAGAIN) already wakes the thread */
  return NULL;
}

static napi_value js_available(napi_env env, napi_callback_info info) {
  (void)info;
  if (digest_missing != NULL) return str(env, digest_missing);
  napi_value t;
  napi_get_boolean(env, true, &t);
  return t;
}

NAPI_MODULE_INIT() {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, find_digest);
  if (!export_function(env, exports, "receiveBatch", js_receive_batch)) return NULL;
  if (!export_function(env, exports, "sendBatch", js_send_batch)) return NULL;
  if (!export_function(env, exports, "cancel", js_cancel)) return NULL;
  if (!export_function(env, exports, "available", js_available)) return NULL;
  return exports;
}

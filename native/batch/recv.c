/*
 * The target's end of a BATCH (receiveBatch; module.c says what the addon does): read exactly
 * the batch's answers off the socket, check and hash each file, write the verified ones to their
 * partials, then make them durable and put them in place.
 */
#include "batch.h"
#include <dlfcn.h>

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

void find_digest(void) {
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

enum outcome_kind { O_NONE = 0, O_OK, O_SKIP, O_CHANGED, O_MISMATCH, O_IO };

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

napi_value js_receive_batch(napi_env env, napi_callback_info info) {
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

napi_value js_available(napi_env env, napi_callback_info info) {
  (void)info;
  if (digest_missing != NULL) return str(env, digest_missing);
  napi_value t;
  napi_get_boolean(env, true, &t);
  return t;
}

/*
 * The holder's end of a BATCH (sendBatch; module.c says what the addon does): each answer as a
 * ready SKIP frame, or a listed file checked as disk-ops.ts readListed checks it and sent with
 * sendfile(2) after its HEADER.
 */
#include "batch.h"
#include <sys/sendfile.h>
#include <sys/socket.h>

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

napi_value js_send_batch(napi_env env, napi_callback_info info) {
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

/*
 * The batch addon's plumbing (module.c says what the addon does): each exchange runs on a
 * detached thread of its own over a dup() of the caller's socket; `cancel` wakes it through an
 * eventfd; its result reaches JS through a thread-safe function; a reference count keeps the
 * job until both the thread's callback has run and the JS handle is collected.
 */
#include "batch.h"
#include <sys/eventfd.h>

const char *const status_name[] = { "ok", "eof", "timeout", "cancelled", "protocol", "read", "error-frame", "nomem", "write", "truncated" };

void job_unref(job_base_t *b) {
  if (atomic_fetch_sub(&b->refs, 1) != 1) return;
  if (b->efd >= 0) close(b->efd);
  if (b->sock >= 0) close(b->sock);
  b->destroy(b);
}

int wait_socket(job_base_t *b, short events, int failure) {
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

void finish(job_base_t *b) {
  close(b->sock);
  b->sock = -1;
  napi_call_threadsafe_function(b->tsfn, b, napi_tsfn_blocking);
  napi_release_threadsafe_function(b->tsfn, napi_tsfn_release);
}

char *errno_text(int err, const char *syscall) {
  const char *name = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  name = strerrorname_np(err);
#endif
  char buf[160];
  if (name != NULL) snprintf(buf, sizeof buf, "%s (%s)", name, syscall);
  else snprintf(buf, sizeof buf, "errno %d (%s)", err, syscall);
  return strdup(buf);
}

napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s != NULL ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

void set(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
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

napi_value start_job(napi_env env, job_base_t *b, int32_t fd, napi_value done, const char *what) {
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

void init_base(job_base_t *b, void *(*run)(void *), void (*to_js)(napi_env, job_base_t *, napi_value *), void (*destroy)(job_base_t *)) {
  b->sock = -1;
  b->efd = -1;
  atomic_init(&b->refs, 1);
  atomic_init(&b->cancelled, 0);
  b->run = run;
  b->to_js = to_js;
  b->destroy = destroy;
}

int throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return 0;
}

char *get_string(napi_env env, napi_value obj, const char *name) {
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

int get_number(napi_env env, napi_value obj, const char *name, double *out) {
  napi_value v;
  return napi_get_named_property(env, obj, name, &v) == napi_ok && napi_get_value_double(env, v, out) == napi_ok;
}

int get_whole(napi_env env, napi_value obj, const char *name, uint64_t *out) {
  double d;
  if (!get_number(env, obj, name, &d) || !(d >= 0 && d <= 9007199254740991.0) || d != (double)(uint64_t)d) return 0;
  *out = (uint64_t)d;
  return 1;
}

int job_args(napi_env env, napi_callback_info info, napi_value argv[4], int32_t *fd, const char *what) {
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

int get_bool(napi_env env, napi_value obj, const char *name, int *out) {
  napi_value v;
  bool b;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  *out = b;
  return 1;
}

napi_value js_cancel(napi_env env, napi_callback_info info) {
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

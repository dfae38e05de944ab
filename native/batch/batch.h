/*
 * What the parts of the batch addon share (see module.c for what the addon does): the status of
 * an exchange, the thread an exchange runs on, and the N-API helpers.
 */
#ifndef RIFTMESH_BATCH_H
#define RIFTMESH_BATCH_H
#define _GNU_SOURCE
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
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>

/* How an exchange ended, and its name in the result ("ok", ...). */
enum status { S_OK = 0, S_EOF, S_TIMEOUT, S_CANCELLED, S_PROTOCOL, S_READ, S_ERROR_FRAME, S_NOMEM, S_WRITE, S_TRUNCATED };
extern const char *const status_name[];

/* TransferFrame kinds and codes (protocols/riftmesh.proto) */
#define KIND_HEADER 0
#define KIND_ERROR 3
#define KIND_SKIP 6
#define CODE_BAD_PATH 2
#define CODE_CHANGED 4
#define CODE_INTERNAL 6

/* ---- an exchange on a thread of its own (job.c) ---- */

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

void job_unref(job_base_t *b);
/** Wait until the socket is ready for `events`: S_OK, or what ended the wait (`failure` for an error of poll itself). */
int wait_socket(job_base_t *b, short events, int failure);
/** The thread's last step: let go of the socket, then hand the result to JS. */
void finish(job_base_t *b);
/** A job's shared part, fresh: one reference (the thread's), nothing open yet. */
void init_base(job_base_t *b, void *(*run)(void *), void (*to_js)(napi_env, job_base_t *, napi_value *), void (*destroy)(job_base_t *));
/**
 * Run `b` on a thread of its own over a dup of `fd`, calling `done` with its result; the handle
 * for cancel(), or NULL with an exception pending. Takes `b` over (freed on failure).
 */
napi_value start_job(napi_env env, job_base_t *b, int32_t fd, napi_value done, const char *what);
/** "ENOSPC (write)", like disk-ops.ts errText (malloc'd). */
char *errno_text(int err, const char *syscall);
napi_value js_cancel(napi_env env, napi_callback_info info);

/* ---- N-API helpers (job.c) ---- */

napi_value str(napi_env env, const char *s);
napi_value num(napi_env env, double d);
void set(napi_env env, napi_value obj, const char *name, napi_value v);
int throw_type(napi_env env, const char *message);
/** A string property as a malloc'd C string; NULL when missing, not a string or holding a NUL. */
char *get_string(napi_env env, napi_value obj, const char *name);
int get_number(napi_env env, napi_value obj, const char *name, double *out);
/** A whole number from 0 to 2^53 - 1 (a JS safe integer). */
int get_whole(napi_env env, napi_value obj, const char *name, uint64_t *out);
int get_bool(napi_env env, napi_value obj, const char *name, int *out);
/** The four arguments of receiveBatch and sendBatch: (fd, items, options, done); 0 with an exception pending. */
int job_args(napi_env env, napi_callback_info info, napi_value argv[4], int32_t *fd, const char *what);

/* ---- the two ends ---- */

/** recv.c: find sha256 in the running Node (once per process). */
void find_digest(void);
napi_value js_receive_batch(napi_env env, napi_callback_info info);
napi_value js_available(napi_env env, napi_callback_info info);
/** send.c */
napi_value js_send_batch(napi_env env, napi_callback_info info);

#endif

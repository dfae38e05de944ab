/*
 * riftmesh-fs: the one file-system call riftmesh needs that Node does not offer.
 *
 *   syncfs(fd): write out and flush everything dirty on the file system that holds `fd`
 *   (Linux syncfs(2); since Linux 5.8 its error includes write-back errors of any file there).
 *
 * A disk worker that has written a group of received files makes them all durable with one
 * syncfs instead of one fsync each (src/transfer/disk-ops.ts). Built by scripts/build-native.mjs
 * at install against Node-API (ABI-stable, loads in worker threads); where it cannot be built,
 * or off Linux, riftmesh fsyncs file by file instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

/** The errno's name ("EBADF") where the C library knows it, else a generic code. */
static const char *errno_code(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  (void)err;
  return "ERR_SYNCFS";
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "syncfs: a file descriptor (an integer >= 0) is expected");
    return NULL;
  }
#ifdef __linux__
  if (syncfs(fd) != 0) {
    int err = errno;
    char message[160];
    snprintf(message, sizeof message, "syncfs: %s", strerror(err));
    napi_throw_error(env, errno_code(err), message);
  }
#else
  napi_throw_error(env, "ENOSYS", "syncfs: not available on this system");
#endif
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  if (napi_create_function(env, "syncfs", NAPI_AUTO_LENGTH, js_syncfs, NULL, &f) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "syncfs", f) != napi_ok) return NULL;
  return exports;
}

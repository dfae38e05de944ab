/*
 * riftmesh-fs: the two file-system helpers riftmesh needs that Node does not offer.
 *
 *   syncfs(fd): write out and flush everything dirty on the file system that holds `fd`
 *   (Linux syncfs(2); since Linux 5.8 its error includes write-back errors of any file there).
 *
 *   alignedBuffer(size): an ArrayBuffer whose memory starts on a 4096-byte boundary, as writes to
 *   a file opened with O_DIRECT need (Node's own buffers have no such guarantee).
 *
 * A disk worker that has written a group of received files makes them all durable with one
 * syncfs instead of one fsync each (src/transfer/disk-ops.ts); a large received file is written
 * around the page cache from aligned buffers when it is to be durable (partial-file.ts). Built by scripts/build-native.mjs
 * at install against Node-API (ABI-stable, loads in worker threads); where it cannot be built,
 * or off Linux, riftmesh fsyncs file by file instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>
#include "napi-export.h"

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

/** Alignment of alignedBuffer's memory: a page, which covers every logical block size in use. */
#define ALIGNMENT 4096
/** Largest alignedBuffer (a guard against a mistaken size, not a limit riftmesh comes near). */
#define MAX_ALIGNED_BYTES (256u * 1024u * 1024u)

static void free_aligned(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value js_aligned_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int64(env, argv[0], &size) != napi_ok || size <= 0 || (uint64_t)size > MAX_ALIGNED_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "alignedBuffer: a size of 1 byte to 256 MiB is expected");
    return NULL;
  }
  void *data = NULL;
  if (posix_memalign(&data, ALIGNMENT, (size_t)size) != 0) {
    napi_throw_error(env, "ENOMEM", "alignedBuffer: out of memory");
    return NULL;
  }
  napi_value ab;
  if (napi_create_external_arraybuffer(env, data, (size_t)size, free_aligned, NULL, &ab) != napi_ok) {
    free(data);
    napi_throw_error(env, "ERR_ALIGNED_BUFFER", "alignedBuffer: this Node.js does not allow external memory");
    return NULL;
  }
  return ab;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "syncfs", js_syncfs)) return NULL;
  if (!export_function(env, exports, "alignedBuffer", js_aligned_buffer)) return NULL;
  return exports;
}

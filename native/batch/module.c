/*
 * riftmesh-batch (native/batch/, built into dist/native/riftmesh-batch.node): both ends of a
 * BATCH on a plain side channel, in C, each exchange on a thread of its own. Where this addon
 * does not load, riftmesh does the same in JavaScript. Parts: job.c (the thread, cancel, the
 * result's way back to JS, N-API helpers), recv.c (the target's end), send.c (the holder's).
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
#include "batch.h"
#include "../napi-export.h"

NAPI_MODULE_INIT() {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, find_digest);
  if (!export_function(env, exports, "receiveBatch", js_receive_batch)) return NULL;
  if (!export_function(env, exports, "sendBatch", js_send_batch)) return NULL;
  if (!export_function(env, exports, "cancel", js_cancel)) return NULL;
  if (!export_function(env, exports, "available", js_available)) return NULL;
  return exports;
}

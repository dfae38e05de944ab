/* Shared by the addons in native/: put a C function on the module's exports under `name`. */
#ifndef RIFTMESH_NAPI_EXPORT_H
#define RIFTMESH_NAPI_EXPORT_H
#include <node_api.h>

static inline int export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f) == napi_ok &&
         napi_set_named_property(env, exports, name, f) == napi_ok;
}
#endif

/* src/core/error.c — names and messages generated from WEFT_ERRNO_MAP. */
#include <string.h>
#include "weft/core.h"

const char *weft_strerror(int err) {
  switch (err) {
  case 0: return "success";
#define WEFT__ERR_MSG(name, value, msg) case value: return msg;
  WEFT_ERRNO_MAP(WEFT__ERR_MSG)
#undef WEFT__ERR_MSG
  default: break;
  }
  /* A negated errno that the table lacks: libc may know it. strerror would
   * format unknown numbers into a buffer that the next call overwrites;
   * strerrordesc_np (glibc 2.32) returns static strings or NULL. */
  const char *desc = err < 0 && err > -4000 ? strerrordesc_np(-err) : NULL;
  return desc ? desc : "unknown error";
}

const char *weft_err_name(int err) {
  switch (err) {
  case 0: return "OK";
#define WEFT__ERR_NAME(name, value, msg) case value: return "WEFT_" #name;
  WEFT_ERRNO_MAP(WEFT__ERR_NAME)
#undef WEFT__ERR_NAME
  default: return "WEFT_UNKNOWN";
  }
}

const char *weft_version_string(void) {
#define WEFT__STR2(x) #x
#define WEFT__STR(x) WEFT__STR2(x)
  return WEFT__STR(WEFT_VERSION_MAJOR) "." WEFT__STR(WEFT_VERSION_MINOR) "."
         WEFT__STR(WEFT_VERSION_PATCH);
}

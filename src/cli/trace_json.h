/* src/cli/trace_json.h — a small JSON reader for `weft trace`: values into
 * a bump arena, and a streaming walk over a top-level object so that a
 * trace's (possibly millions of) events are parsed one at a time. */
#ifndef WEFT_CLI_TRACE_JSON_H
#define WEFT_CLI_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

typedef struct tj_val {
  int type;
  double num;             /* TJ_NUM; TJ_BOOL: 0 or 1 */
  const char *str;        /* TJ_STR (decoded, NUL-terminated) */
  size_t n;               /* TJ_ARR / TJ_OBJ: number of items */
  struct tj_val *items;   /* their values */
  const char **keys;      /* TJ_OBJ: their keys */
} tj_val;

typedef struct tj_arena tj_arena;

typedef struct tj_parser {
  const char *p, *end;
  tj_arena *arena;
  char err[128];          /* set on failure: what and where */
  const char *start;
} tj_parser;

/* Parses one value at ps->p into the arena. NULL on error (ps->err). */
tj_val *tj_parse_value(tj_parser *ps);
void tj_skip_ws(tj_parser *ps);
/* Resets the arena (values parsed before become invalid). */
void tj_arena_reset(tj_parser *ps);
int tj_init(tj_parser *ps, const char *text, size_t len);
void tj_fini(tj_parser *ps);

/* Walks a top-level object: for each key, on_key(key, ps, ctx) parses or
 * walks the value itself (returns 0, or -1 to stop with an error). */
int tj_walk_object(tj_parser *ps, int (*on_key)(const char *key, tj_parser *ps, void *ctx),
                   void *ctx);
/* Walks an array at ps->p: on_item(value, ctx) per element, the arena reset
 * after each. */
int tj_walk_array(tj_parser *ps, int (*on_item)(const tj_val *v, void *ctx), void *ctx);

/* Lookups (NULL / the default when absent or of another type). */
const tj_val *tj_get(const tj_val *obj, const char *key);
double tj_num(const tj_val *obj, const char *key, double dflt);
const char *tj_str(const tj_val *obj, const char *key, const char *dflt);

/* Reads a whole file (NUL-terminated). NULL with errno set on failure. */
char *tj_read_file(const char *path, size_t *len);

#endif /* WEFT_CLI_TRACE_JSON_H */

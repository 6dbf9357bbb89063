/* tests/test_core.c — error table, version, monotonic time, futex contract. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"
#include "weft/core.h"
#include "core/internal.h"

struct code {
  int value;
  const char *name;
  const char *message;
};

static const struct code codes[] = {
#define CODE(name, value, msg) {value, "WEFT_" #name, msg},
    WEFT_ERRNO_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof codes / sizeof codes[0])

static void error_codes_are_negative_and_distinct(void **state) {
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    assert_true(codes[i].value < 0);
    for (size_t j = i + 1; j < NCODES; j++) {
      assert_int_not_equal(codes[i].value, codes[j].value);
      assert_string_not_equal(weft_err_name(codes[i].value), weft_err_name(codes[j].value));
      assert_string_not_equal(weft_strerror(codes[i].value), weft_strerror(codes[j].value));
    }
  }
}

static void names_and_messages_come_from_the_table(void **state) {
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    assert_string_equal(weft_err_name(codes[i].value), codes[i].name);
    assert_string_equal(weft_strerror(codes[i].value), codes[i].message);
    assert_true(strlen(codes[i].message) > 0);
  }
  assert_int_equal(WEFT_ETIMEDOUT, -ETIMEDOUT);
  assert_int_equal(WEFT_EINVAL, -EINVAL);
  assert_string_equal(weft_err_name(WEFT_EBROKEN), "WEFT_EBROKEN");
}

static void zero_and_unknown_codes(void **state) {
  (void)state;
  assert_string_equal(weft_err_name(0), "OK");
  assert_string_equal(weft_strerror(0), "success");
  assert_string_equal(weft_err_name(-99999), "WEFT_UNKNOWN");
  assert_string_equal(weft_strerror(-99999), "unknown error");
  assert_string_equal(weft_strerror(-3999), "unknown error");
  assert_string_equal(weft_strerror(12345), "unknown error");
  assert_string_equal(weft_err_name(12345), "WEFT_UNKNOWN");
  /* An errno value outside the table: libc's message. */
  assert_string_equal(weft_strerror(-EACCES), strerror(EACCES));
  assert_string_equal(weft_err_name(-EACCES), "WEFT_UNKNOWN");
}

static void version_string_matches_macros(void **state) {
  (void)state;
  char expect[32];
  snprintf(expect, sizeof expect, "%d.%d.%d", WEFT_VERSION_MAJOR, WEFT_VERSION_MINOR,
           WEFT_VERSION_PATCH);
  assert_string_equal(weft_version_string(), expect);
  assert_int_equal(WEFT_VERSION_HEX,
                   (WEFT_VERSION_MAJOR << 16) | (WEFT_VERSION_MINOR << 8) | WEFT_VERSION_PATCH);
}

static void now_is_monotonic(void **state) {
  (void)state;
  uint64_t prev = weft_now_ns();
  assert_true(prev > 0);
  for (size_t i = 0; i < scaled(100000, 1000); i++) {
    uint64_t now = weft_now_ns();
    assert_true(now >= prev);
    prev = now;
  }
}

static void deadline_saturates(void **state) {
  (void)state;
  assert_true(weft_deadline_after(WEFT_FOREVER) == WEFT_FOREVER);
  uint64_t before = weft_now_ns();
  uint64_t d = weft_deadline_after(1000000);
  assert_true(d >= before + 1000000);
  assert_true(d <= weft_now_ns() + 1000000);
  /* Huge timeouts saturate just below "forever" instead of wrapping. */
  assert_true(weft_deadline_after(WEFT_FOREVER - 1) == WEFT_FOREVER - 1);
  assert_true(weft_deadline_after(WEFT_FOREVER - 10) == WEFT_FOREVER - 1);
  assert_true(weft_deadline_after(0) >= before);
}

static void futex_wait_returns_on_mismatch_and_deadline(void **state) {
  (void)state;
  uint32_t word = 1;
  assert_ok(weft__futex_wait(&word, 0, WEFT_FOREVER)); /* value differs */
  assert_weft(weft__futex_wait(&word, 1, weft_now_ns()), WEFT_ETIMEDOUT);
  uint64_t start = weft_now_ns();
  assert_weft(weft__futex_wait(&word, 1, weft_deadline_after(20000000)), WEFT_ETIMEDOUT);
  assert_true(weft_now_ns() - start >= 20000000);
  weft__futex_wake(&word, 1); /* nobody waits: harmless */
}

static void aligned_allocation_is_zeroed(void **state) {
  (void)state;
  for (size_t size = 0; size < 300; size += 37) {
    unsigned char *p = weft__alloc_aligned(size);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % WEFT_CACHELINE, 0);
    for (size_t i = 0; i < size; i++) assert_int_equal(p[i], 0);
    free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_codes_are_negative_and_distinct),
      cmocka_unit_test(names_and_messages_come_from_the_table),
      cmocka_unit_test(zero_and_unknown_codes),
      cmocka_unit_test(version_string_matches_macros),
      cmocka_unit_test(now_is_monotonic),
      cmocka_unit_test(deadline_saturates),
      cmocka_unit_test(futex_wait_returns_on_mismatch_and_deadline),
      cmocka_unit_test(aligned_allocation_is_zeroed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

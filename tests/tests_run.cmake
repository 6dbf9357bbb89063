# tests/tests_run.cmake — `weft run` (src/cli/run*.c): the unit test program
# tests/test_run.c links the command's sources, which are not part of the
# library; and the command itself, driven as a user would.
file(GLOB WEFT_RUN_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cli/run*.c)
target_sources(test_run PRIVATE ${WEFT_RUN_SOURCES})

weft_cli_test(run_basic ARGS run -k echo x{}y ::: a "b c"
  EXPECT "-DLINE0=xay" "-DLINE1=xb cy")
weft_cli_test(run_failures EXIT 2 ARGS run -j2 "exit {}" ::: 0 1 5)
weft_cli_test(run_bad_option EXIT 255 ARGS run --bogus echo
  EXPECT "-DREGEX0=unknown option '--bogus'")
weft_cli_test(run_bad_jobs EXIT 255 ARGS run -j lots echo ::: a
  EXPECT "-DREGEX0=invalid value 'lots' for option '-j'")
weft_cli_test(run_missing_input EXIT 255 ARGS run echo :::: /nonexistent/weft-input
  EXPECT "-DREGEX0=cannot open input file '/nonexistent/weft-input'")
weft_cli_test(run_dry_run ARGS run --dry-run -k echo {} ::: "a b" "it's"
  EXPECT "-DLINE0=echo 'a b'" "-DLINE1=echo 'it'\"'\"'s'")

# The engine under `weft run`: aio's processes again, on the uv_spawn path
# that serves where pidfds are missing (WEFT_AIO_SPAWN=uv forces it).
add_test(NAME test_aio_process_uv COMMAND test_aio_process)
set_tests_properties(test_aio_process_uv PROPERTIES TIMEOUT ${WEFT_TEST_TIMEOUT}
  ENVIRONMENT "WEFT_TEST_SCALE=${WEFT_TEST_SCALE};WEFT_AIO_SPAWN=uv")

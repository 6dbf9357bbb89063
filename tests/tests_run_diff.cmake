# tests/tests_run_diff.cmake — `weft run` against GNU parallel (issue 5 §3).
# tests/run_diff/run_diff.py runs every case of tests/run_diff/cases.txt
# through both and compares stdout, exit status and joblogs; the extra
# checks cover SIGINT, --resume, injection-shaped input, 100,000 jobs, a
# 100 MB job and --bar on a terminal. Exit 77 (GNU parallel or python3
# missing) reports "skipped".
find_program(WEFT_PYTHON3 NAMES python3)
if(WEFT_PYTHON3)
  set(_rd ${CMAKE_CURRENT_SOURCE_DIR}/run_diff/run_diff.py)
  add_test(NAME run_diff_table
    COMMAND ${WEFT_PYTHON3} ${_rd} table --weft $<TARGET_FILE:weft>)
  set_tests_properties(run_diff_table PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
    LABELS run_diff)
  # 100,000 jobs and a 100 MB job test weft run's scale, not memory or
  # thread safety: the sanitizer builds (each job a fork of a TSan or ASan
  # process, minutes for `many`) skip them
  set(_rd_checks sigint resume inject bar)
  if(WEFT_SANITIZE STREQUAL "")
    list(APPEND _rd_checks many big)
  endif()
  foreach(check ${_rd_checks})
    add_test(NAME run_diff_${check}
      COMMAND ${WEFT_PYTHON3} ${_rd} extra --weft $<TARGET_FILE:weft> ${check})
    # `many` runs 100,000 jobs (x WEFT_TEST_SCALE): minutes, not seconds
    set_tests_properties(run_diff_${check} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
      LABELS run_diff ENVIRONMENT "WEFT_TEST_SCALE=${WEFT_TEST_SCALE}")
  endforeach()
endif()

# tests/tests_run_diff.cmake — `weft run` against GNU parallel (issue 5 §3).
# tests/run_diff/run_diff.py runs every case of tests/run_diff/cases.txt
# through both and compares stdout, exit status and joblogs; the extra
# checks cover SIGINT, --resume, injection-shaped input, 100,000 jobs and a
# 100 MB job. Exit 77 (GNU parallel or python3 missing) reports "skipped".
find_program(WEFT_PYTHON3 NAMES python3)
if(WEFT_PYTHON3)
  set(_rd ${CMAKE_CURRENT_SOURCE_DIR}/run_diff/run_diff.py)
  add_test(NAME run_diff_table
    COMMAND ${WEFT_PYTHON3} ${_rd} table --weft $<TARGET_FILE:weft>)
  set_tests_properties(run_diff_table PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
    LABELS run_diff)
  foreach(check sigint resume inject many big)
    add_test(NAME run_diff_${check}
      COMMAND ${WEFT_PYTHON3} ${_rd} extra --weft $<TARGET_FILE:weft> ${check})
    # `many` runs 100,000 jobs (x WEFT_TEST_SCALE): minutes, not seconds
    set_tests_properties(run_diff_${check} PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
      LABELS run_diff ENVIRONMENT "WEFT_TEST_SCALE=${WEFT_TEST_SCALE}")
  endforeach()
endif()

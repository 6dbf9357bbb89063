# tests/tests_trace.cmake — tracing end to end (included by tests/CMakeLists.txt
# through its tests_*.cmake glob):
#   - test_trace (cmocka, tests/test_trace.c) also reads traces back with the
#     command's own reader, so it links src/cli/trace_json.c and trace_model.c;
#   - trace_demo runs under WEFT_TRACE (no code change) and python3 checks the
#     file against the Chrome Trace Event format and against what ran;
#   - `weft trace top` and `weft trace check` on it;
#   - the HTML report rendered in headless Chromium (skipped, exit 77, with a
#     message when chromium is not installed).
find_package(Python3 COMPONENTS Interpreter)

target_sources(test_trace PRIVATE ${PROJECT_SOURCE_DIR}/src/cli/trace_json.c
                                  ${PROJECT_SOURCE_DIR}/src/cli/trace_model.c)
target_link_libraries(test_trace PRIVATE m)

add_executable(trace_demo ${CMAKE_CURRENT_SOURCE_DIR}/trace_render/trace_demo.c)
target_include_directories(trace_demo PRIVATE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(trace_demo PRIVATE _GNU_SOURCE)
target_link_libraries(trace_demo PRIVATE weft_static)

set(WEFT_TRACE_DIR ${CMAKE_CURRENT_BINARY_DIR}/trace_out)
file(MAKE_DIRECTORY ${WEFT_TRACE_DIR})

if(NOT Python3_Interpreter_FOUND)
  message(STATUS "python3 not found: the trace file and report tests are skipped")
  return()
endif()

# WEFT_TRACE=file: the demo (3 workers, process pool with a crash) is traced
# without calling the API; the file must be valid and count what ran.
add_test(NAME trace_env
  COMMAND sh -c "rm -f '${WEFT_TRACE_DIR}/env.json' && env -u WEFT_TRACE_OWNER WEFT_TRACE='${WEFT_TRACE_DIR}/env.json' \
    '$<TARGET_FILE:trace_demo>' 3 3000 --procs --crash > '${WEFT_TRACE_DIR}/env.out' && \
    '${Python3_EXECUTABLE}' '${CMAKE_CURRENT_SOURCE_DIR}/trace_render/validate_trace.py' \
    '${WEFT_TRACE_DIR}/env.json' --workers 3 --nodes 4 --crash --loop --demo-output '${WEFT_TRACE_DIR}/env.out'")
set_tests_properties(trace_env PROPERTIES TIMEOUT 120 LABELS trace FIXTURES_SETUP trace_file
  ENVIRONMENT "WEFT_TEST_SCALE=${WEFT_TEST_SCALE}")

# Without WEFT_TRACE nothing is written.
add_test(NAME trace_env_off
  COMMAND sh -c "cd '${WEFT_TRACE_DIR}' && rm -rf off && mkdir off && cd off && \
    env -u WEFT_TRACE -u WEFT_TRACE_OWNER '$<TARGET_FILE:trace_demo>' 2 500 > out.txt && \
    test \"$(ls | wc -l)\" = 1")
set_tests_properties(trace_env_off PROPERTIES TIMEOUT 60 LABELS trace)

add_test(NAME trace_top
  COMMAND ${CMAKE_COMMAND} "-DREGEX0=3[0-9]+ tasks on [0-9]+ tracks \\(3 workers\\)"
          "-DREGEX1=work_task +[0-9]+ +[0-9.]+" "-DREGEX2=slowest tasks"
          "-DREGEX3=slow-c +demo-[0-2]" "-DREGEX4=proc_task +process worker [01] +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
          $<TARGET_FILE:weft> trace top ${WEFT_TRACE_DIR}/env.json -n 40)
set_tests_properties(trace_top PROPERTIES TIMEOUT 60 LABELS trace FIXTURES_REQUIRED trace_file)

add_test(NAME trace_check
  COMMAND ${CMAKE_COMMAND} "-DREGEX0=workers 3" "-DREGEX1=nodes 4" "-DREGEX2=edges 4"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
          $<TARGET_FILE:weft> trace check ${WEFT_TRACE_DIR}/env.json)
set_tests_properties(trace_check PROPERTIES TIMEOUT 60 LABELS trace FIXTURES_REQUIRED trace_file)

# A file that is not a trace: a clear error, exit 1.
file(WRITE ${WEFT_TRACE_DIR}/broken.json "{\"traceEvents\":[{\"ph\":\"X\",}]}")
add_test(NAME trace_check_broken
  COMMAND ${CMAKE_COMMAND} -DEXIT=1 "-DREGEX0=not a trace: .* at byte [0-9]+"
          -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
          $<TARGET_FILE:weft> trace check ${WEFT_TRACE_DIR}/broken.json)
set_tests_properties(trace_check_broken PROPERTIES TIMEOUT 30 LABELS trace)

add_test(NAME trace_render
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/trace_render/check_render.py
          $<TARGET_FILE:weft> $<TARGET_FILE:trace_demo> ${WEFT_TRACE_DIR}/render)
set_tests_properties(trace_render PROPERTIES TIMEOUT 180 LABELS trace SKIP_RETURN_CODE 77)

# tests/run_expect.cmake — runs a command and checks its exit status and output.
#
#   cmake [-DEXIT=<code>] [-DLINE0=<text> -DLINE1=...] [-DREGEX0=<re> ...]
#         -P run_expect.cmake -- <command> [args...]
#
# Passes when the command exits with EXIT (default 0) and its output (stdout
# and stderr together) contains every LINEi as an exact line and matches every
# REGEXi. Unlike PASS_REGULAR_EXPRESSION, which accepts any one match and
# ignores the exit status, every expectation must hold. The output is always
# echoed, so ctest --output-on-failure shows what the command printed.
cmake_minimum_required(VERSION 3.20)

set(cmd "")
set(after_dashes OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_dashes)
    list(APPEND cmd "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(after_dashes ON)
  endif()
endforeach()
if(NOT cmd)
  message(FATAL_ERROR "run_expect: no command after --")
endif()
if(NOT DEFINED EXIT)
  set(EXIT 0)
endif()

execute_process(COMMAND ${cmd} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
set(all "${out}${err}")
message("${all}")

set(failures "")
if(NOT "${rc}" STREQUAL "${EXIT}")
  string(APPEND failures "  exit status ${rc}, expected ${EXIT}\n")
endif()
# Exact lines: look for "\n<line>\n" in the output framed by newlines.
set(framed "\n${all}\n")
foreach(i RANGE 0 31)
  if(DEFINED LINE${i})
    string(FIND "${framed}" "\n${LINE${i}}\n" at)
    if(at EQUAL -1)
      string(APPEND failures "  missing line: ${LINE${i}}\n")
    endif()
  endif()
  if(DEFINED REGEX${i})
    if(NOT "${all}" MATCHES "${REGEX${i}}")
      string(APPEND failures "  no match for: ${REGEX${i}}\n")
    endif()
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "run_expect: ${cmd}\n${failures}")
endif()

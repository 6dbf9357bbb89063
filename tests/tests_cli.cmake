# tests/tests_cli.cmake — the weft command, driven as a user would
# (tests/run_expect.cmake checks exit status and output).
set(WEFT_CLI_TIMEOUT 60)

function(weft_cli_test name)
  cmake_parse_arguments(PARSE_ARGV 1 T "" "EXIT" "ARGS;EXPECT")
  if(NOT DEFINED T_EXIT)
    set(T_EXIT 0)
  endif()
  add_test(NAME cli_${name}
    COMMAND ${CMAKE_COMMAND} -DEXIT=${T_EXIT} ${T_EXPECT}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake -- $<TARGET_FILE:weft> ${T_ARGS})
  set_tests_properties(cli_${name} PROPERTIES TIMEOUT ${WEFT_CLI_TIMEOUT} LABELS cli)
endfunction()

weft_cli_test(version ARGS --version
  EXPECT "-DLINE0=weft ${PROJECT_VERSION}")
weft_cli_test(help ARGS help
  EXPECT "-DREGEX0=usage: weft <command>" "-DREGEX1=weft tour" "-DREGEX2=weft info"
         "-DREGEX3=weft bench")
weft_cli_test(info ARGS info
  EXPECT "-DLINE0=weft ${PROJECT_VERSION}" "-DREGEX0=CPUs usable +[1-9]"
         "-DREGEX1=online CPUs +[1-9]" "-DREGEX2=affinity mask +[0-9]"
         "-DREGEX3=cgroup CPU quota" "-DREGEX4=physical cores +[1-9]"
         "-DREGEX5=hardware threads +[1-9]" "-DREGEX6=L1d cache +" "-DREGEX7=NUMA nodes +[1-9]"
         "-DREGEX8=thread pool +[1-9][0-9]* threads" "-DREGEX9=weft_cpu_count\\(\\) +[1-9]")
weft_cli_test(tour ARGS tour
  EXPECT "-DLINE0=     Dataset: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]"
         "-DLINE1=     Result: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196]"
         "-DREGEX0=counter = 400000 \\(expected 400000\\)"
         "-DREGEX1=fib\\(35\\) = 9227465 ok"
         "-DREGEX2=29 of 29 steps correct, total"
         "-DREGEX3=2k tasks, sum of squares checked"
         "-DREGEX4=100 clients x 10 lines echoed: checked"
         "-DREGEX5=2 loops, 200 clients echoed: checked"
         "-DREGEX6=total 44, 15 nodes ran"
         "-DREGEX7=report: /[^\n]*/tour-report\\.html"
         "-DREGEX8=trace of this tour: /[^\n]*/tour-trace\\.json")
# Usage errors exit 2 and say what was wrong.
weft_cli_test(no_command EXIT 2 EXPECT "-DREGEX0=usage: weft <command>")
weft_cli_test(bogus EXIT 2 ARGS bogus
  EXPECT "-DLINE0=weft: unknown command 'bogus'" "-DREGEX0=usage: weft <command>")
weft_cli_test(info_bad_arg EXIT 2 ARGS info --frobnicate
  EXPECT "-DREGEX0=unexpected argument '--frobnicate'")
weft_cli_test(tour_bad_arg EXIT 2 ARGS tour --frobnicate
  EXPECT "-DREGEX0=unexpected argument '--frobnicate'")
# weft help <command> (src/cli/help.c): a command's own options
weft_cli_test(help_info ARGS help info EXPECT "-DLINE0=usage: weft info")
weft_cli_test(help_run ARGS help run EXPECT "-DREGEX0=usage: weft run")
weft_cli_test(help_bench ARGS help bench EXPECT "-DREGEX0=weft bench run")
weft_cli_test(help_unknown EXIT 2 ARGS help bogus EXPECT "-DREGEX0=unknown command 'bogus'")

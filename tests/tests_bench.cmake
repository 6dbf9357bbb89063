# tests/tests_bench.cmake — bench_smoke, bench_proc_smoke: the benchmark
# harness still works.
#
# Runs `weft bench pool --quick --json --smoke` (--smoke: every size tiny,
# one run each, a few seconds) and checks that weft measured each of B1..B5,
# and that the command succeeded (exit 0 also means the peers that ran agreed
# with weft's B3 results). Peers that are not built are skipped by the
# harness, not failed. Timing means nothing under the sanitizers: normal
# build only.
if(WEFT_SANITIZE STREQUAL "")
  set(_q "\"")   # a literal double quote inside the regexes below
  set(_w "${_q}impl${_q}:${_q}weft${_q}")
  add_test(NAME bench_smoke
    COMMAND ${CMAKE_COMMAND}
            "-DREGEX0=${_q}bench${_q}:${_q}B1${_q},${_q}case${_q}:${_q}fib${_q},${_w}"
            "-DREGEX1=${_q}bench${_q}:${_q}B2${_q},${_q}case${_q}:${_q}tasks${_q},${_w}"
            "-DREGEX2=${_q}bench${_q}:${_q}B3${_q},${_q}case${_q}:${_q}sqrt_sum${_q},${_w}"
            "-DREGEX3=${_q}bench${_q}:${_q}B4${_q},${_q}case${_q}:${_q}efficiency${_q},${_w}"
            "-DREGEX4=${_q}bench${_q}:${_q}B5${_q},${_q}case${_q}:${_q}chan_mpmc${_q},${_w}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
            $<TARGET_FILE:weft> bench pool --quick --json --smoke)
  set_tests_properties(bench_smoke PROPERTIES TIMEOUT 60 LABELS bench)

  # bench_proc_smoke: `weft bench proc` (--smoke: P1 20,000 and 2,000 items,
  # P2 200 round trips, P3 64 x 100 us, P4 20 x /bin/true, P5 2 starts per
  # start method and 20 tasks per pool) still measures weft in each of P1..P5
  # (the process pool's map, submit, apply; the subprocesses; process start
  # with each start method, and the pool with and without recycling — a
  # recycle row also means the pool really replaced its workers), the C
  # floors run, and P1's rows carry their chunksize.
  # Exit 0 also means every weft row succeeded and P1's results agreed with
  # Python's where it ran. Peers (Python, GNU parallel, xargs) may be skipped.
  set(_p1 "${_q}bench${_q}:${_q}P1${_q},${_q}case${_q}:${_q}map_cs")
  set(_p2 "${_q}bench${_q}:${_q}P2${_q},${_q}case${_q}:${_q}")
  set(_p5 "${_q}bench${_q}:${_q}P5${_q},${_q}case${_q}:${_q}")
  add_test(NAME bench_proc_smoke
    COMMAND ${CMAKE_COMMAND}
            "-DREGEX0=${_p1}10000${_q},${_w},[^}]*${_q}chunksize${_q}:10000}"
            "-DREGEX1=${_p1}1${_q},${_w},[^}]*${_q}chunksize${_q}:1}"
            "-DREGEX2=${_p2}submit${_q},${_w}"
            "-DREGEX3=${_p2}apply${_q},${_w}"
            "-DREGEX4=${_p2}pingpong${_q},${_q}impl${_q}:${_q}c-pipe${_q}"
            "-DREGEX5=${_p2}pingpong${_q},${_q}impl${_q}:${_q}c-futex${_q}"
            "-DREGEX6=${_q}bench${_q}:${_q}P3${_q},${_q}case${_q}:${_q}efficiency${_q},${_w}"
            "-DREGEX7=${_q}bench${_q}:${_q}P4${_q},${_q}case${_q}:${_q}true${_q},${_w}"
            "-DREGEX8=${_p5}start_spawn${_q},${_w}"
            "-DREGEX9=${_p5}start_forkserver${_q},${_w}"
            "-DREGEX10=${_p5}start_fork${_q},${_w}"
            "-DREGEX11=${_p5}recycle${_q},${_w}"
            "-DREGEX12=${_p5}no_recycle${_q},${_w}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
            $<TARGET_FILE:weft> bench proc --quick --json --smoke)
  set_tests_properties(bench_proc_smoke PROPERTIES TIMEOUT 60 LABELS bench)
endif()

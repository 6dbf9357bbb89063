# tests/tests_bench.cmake — bench_smoke, bench_proc_smoke, bench_aio_smoke: the benchmark
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

# bench_aio_smoke: `weft bench aio --smoke` (every server on 127.0.0.1 for a
# 0.2 s run per connection count, wrk for 1 s, A3 with 2,000 tasks) still
# measures weft in each of A1 (at 1, 100 and 1,000 connections: weft's echo
# server answered every ping-pong of bench/aio_load), A2 (weft's HTTP server
# on one loop and on two, when wrk is installed) and A3 (spawn + gather, queue
# ping-pong, the switch), and A1/A2 lines carry "conns". Exit 0 also means no
# weft measurement failed. The peers (libuv, asyncio, uvloop) may be skipped.
if(WEFT_SANITIZE STREQUAL "")
  set(_a1 "${_q}bench${_q}:${_q}A1${_q},${_q}case${_q}:${_q}echo_c")
  set(_a3 "${_q}bench${_q}:${_q}A3${_q},${_q}case${_q}:${_q}")
  set(_aio_regex
      "-DREGEX0=${_a1}1${_q},${_w},[^}]*${_q}conns${_q}:1}"
      "-DREGEX1=${_a1}100${_q},${_w},[^}]*${_q}conns${_q}:100}"
      "-DREGEX2=${_a1}1000${_q},${_w},[^}]*${_q}conns${_q}:1000}"
      "-DREGEX3=${_a3}spawn${_q},${_w}"
      "-DREGEX4=${_a3}queue${_q},${_w}"
      "-DREGEX5=${_a3}switch${_q},${_w}")
  find_program(WEFT_WRK wrk)
  if(WEFT_WRK)
    set(_a2 "${_q}bench${_q}:${_q}A2${_q},${_q}case${_q}:${_q}http_c100${_q},${_w}")
    list(APPEND _aio_regex
         "-DREGEX6=${_a2},${_q}threads${_q}:1,[^}]*${_q}conns${_q}:100}"
         "-DREGEX7=${_a2},${_q}threads${_q}:2,[^}]*${_q}conns${_q}:100}")
  endif()
  add_test(NAME bench_aio_smoke
    COMMAND ${CMAKE_COMMAND} ${_aio_regex}
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
            $<TARGET_FILE:weft> bench aio --json --smoke)
  set_tests_properties(bench_aio_smoke PROPERTIES TIMEOUT 90 LABELS bench)
endif()

# bench_run_smoke: `weft bench run --smoke` (R1/R2 with 50 jobs, R3 with 20
# sleeping jobs) still measures weft in R1, R2 (its output checked against
# the expected digest) and R3. Peers (GNU parallel, xargs, Python) may be
# skipped. bench_graph_smoke: `weft bench graph --smoke` measures weft's
# per-node cost in G1 (with and without fusion) and G2.
if(WEFT_SANITIZE STREQUAL "")
  add_test(NAME bench_run_smoke
    COMMAND ${CMAKE_COMMAND}
            "-DREGEX0=${_q}bench${_q}:${_q}R1${_q},${_q}case${_q}:${_q}true${_q},${_w}"
            "-DREGEX1=${_q}bench${_q}:${_q}R2${_q},${_q}case${_q}:${_q}echo_k${_q},${_w}"
            "-DREGEX2=${_q}bench${_q}:${_q}R3${_q},${_q}case${_q}:${_q}sleep50ms${_q},${_w}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
            $<TARGET_FILE:weft> bench run --json --smoke)
  set_tests_properties(bench_run_smoke PROPERTIES TIMEOUT 60 LABELS bench)
  add_test(NAME bench_graph_smoke
    COMMAND ${CMAKE_COMMAND}
            "-DREGEX0=${_q}bench${_q}:${_q}G1${_q},${_q}case${_q}:${_q}nodes${_q},${_w}"
            "-DREGEX1=${_q}bench${_q}:${_q}G1${_q},${_q}case${_q}:${_q}nodes_nofuse${_q},${_w}"
            "-DREGEX2=${_q}bench${_q}:${_q}G2${_q},${_q}case${_q}:${_q}nodes${_q},${_w}"
            -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake --
            $<TARGET_FILE:weft> bench graph --json --smoke)
  set_tests_properties(bench_graph_smoke PROPERTIES TIMEOUT 60 LABELS bench)
endif()

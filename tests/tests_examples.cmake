# tests/tests_examples.cmake — runs every program in examples/ and checks its
# output line by line (tests/run_expect.cmake: exact lines + exit status 0).
# Included from tests/CMakeLists.txt; the example targets are defined in
# examples/, which add_test resolves at generate time.
if(NOT WEFT_BUILD_EXAMPLES)
  return()
endif()

set(WEFT_EXAMPLE_TIMEOUT 60)

# weft_example_test(<name> <expectation>...): each expectation is a
# -DLINEi=... or -DREGEXi=... argument for run_expect.cmake.
function(weft_example_test name)
  add_test(NAME example_${name}
    COMMAND ${CMAKE_COMMAND} ${ARGN} -P ${CMAKE_CURRENT_SOURCE_DIR}/run_expect.cmake
            -- $<TARGET_FILE:example_${name}>)
  set_tests_properties(example_${name} PROPERTIES TIMEOUT ${WEFT_EXAMPLE_TIMEOUT} LABELS examples)
endfunction()

weft_example_test(threads_counter
  "-DLINE0=4 threads x 100000 increments"
  "-DLINE1=counter = 400000 (expected 400000)"
  "-DREGEX0=without the lock: counter = [0-9]+, [0-9]+ increments lost")
weft_example_test(thread_objects
  "-DLINE0=summer-10: sum(1..10) = 55"
  "-DLINE1=summer-100: sum(1..100) = 5050"
  "-DLINE2=summer-1000: sum(1..1000) = 500500")
weft_example_test(pool_map
  "-DLINE0=Dataset: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]"
  "-DLINE1=Result: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196]")
weft_example_test(futures_as_completed
  "-DLINE0=as_completed (finishing order):"
  "-DLINE1=  square(3) = 9"
  "-DLINE2=sum of squares = 55"
  "-DLINE3=square(-1) raised WEFT_EINVAL: square of a negative number: -1"
  "-DLINE4=executor.map: [1, 4, 9, 16, 25]")
weft_example_test(fork_join
  "-DLINE0=fib(30) = 832040 (serial: 832040)")
weft_example_test(square_variants
  "-DLINE0=pool map:                [1, 4, 9, 16, 25]"
  "-DLINE1=one thread per number:   [1, 4, 9, 16, 25]"
  "-DLINE2=executor map:            [1, 4, 9, 16, 25]")
weft_example_test(sync_tour
  "-DLINE0=semaphore: 6 threads, at most 2 inside at once: ok"
  "-DLINE1=barrier: 3 runners ran 5 legs in step: ok"
  "-DLINE2=event: 3 of 3 waiters released")
weft_example_test(channels
  "-DLINE0=3 producers -> 2 consumers"
  "-DLINE1=received 3000 messages, sum 1501500 (expected 1501500)")
weft_example_test(shared_counter
  "-DLINE0=4 processes x 25000 increments under a shared lock"
  "-DLINE1=counter = 100000 (expected 100000)")
weft_example_test(process_queue
  "-DLINE0=2 consumer processes squared 1000 items"
  "-DLINE1=sum of squares = 333833500 (expected 333833500)")
weft_example_test(pool_processes
  "-DLINE0=Dataset: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]"
  "-DLINE1=Result: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144, 169, 196]")
weft_example_test(process_objects
  "-DLINE0=primes-100: exit code 25 (primes below 100)"
  "-DLINE1=primes-500: exit code 95 (primes below 500)"
  "-DLINE2=primes-1000: exit code 168 (primes below 1000)"
  "-DLINE3=sleeper alive: yes"
  "-DLINE4=sleeper: exit code -1, signal 15 (SIGTERM)")
weft_example_test(crash_proof_pool
  "-DLINE0=job 0: 0"
  "-DLINE1=job 2: 4"
  "-DLINE2=job 9: 81"
  "-DREGEX3=job 3: WEFT_ECRASHED: [-a-zA-Z0-9 ,()]*signal 11"
  "-DREGEX4=job 5: WEFT_ECRASHED: [-a-zA-Z0-9 ,()]*exit status 3"
  "-DREGEX5=job 7: WEFT_ECRASHED: [-a-zA-Z0-9 ,()]*signal 11"
  "-DLINE6=7 jobs succeeded, 3 crashed"
  "-DLINE7=the pool carries on: map -> OK [11, 21, 31, 41, 51]"
  "-DLINE8=crashes survived: 3")
weft_example_test(aio_hello
  "-DLINE0=main: 3 tasks created"
  "-DLINE1=square(3) done after 10 ms"
  "-DLINE2=square(2) done after 20 ms"
  "-DLINE3=square(1) done after 30 ms"
  "-DLINE4=gather: [1, 4, 9] (in the order given)"
  "-DREGEX0=created\nsquare\\(3\\)[^\n]*\nsquare\\(2\\)[^\n]*\nsquare\\(1\\)[^\n]*\ngather")
weft_example_test(aio_echo
  "-DLINE0=server: listening on 127.0.0.1 (port chosen by the kernel)"
  "-DLINE1=client: sent \"hello\", got back \"hello\""
  "-DLINE2=client: sent \"async\", got back \"async\""
  "-DLINE3=client: sent \"world\", got back \"world\""
  "-DLINE4=server: 1 connection, 3 lines echoed")
weft_example_test(aio_http
  "-DLINE0=GET /      -> HTTP/1.1 200 OK, body \"Hello, world!\""
  "-DLINE1=GET /async -> HTTP/1.1 200 OK, body \"Hello, world!\""
  "-DLINE2=GET /bye   -> HTTP/1.1 200 OK, body \"Hello, world!\""
  "-DLINE3=the server closed the connection after \"Connection: close\""
  "-DLINE4=server: 1 connection, 3 requests (keep-alive)")
weft_example_test(aio_fetcher
  "-DLINE0=1000 responses, in order, max in flight 50"
  "-DLINE1=results[0..4] = 0 1 4 9 16, results[999] = 998001")
weft_example_test(aio_pipeline
  "-DLINE0=2 producers -> 3 squarers -> 1 summer, queues of 4"
  "-DLINE1=both queues joined: 100 squares summed"
  "-DLINE2=sum of squares 1..100 = 338350 (expected 338350)"
  "-DLINE3=workers cancelled after join: 4 of 4")
weft_example_test(aio_subprocess
  "-DLINE0=printf 'cherry\\napple\\nbanana\\n' | sort"
  "-DLINE1=  apple"
  "-DLINE2=  banana"
  "-DLINE3=  cherry"
  "-DREGEX0=  apple\n  banana\n  cherry\n"
  "-DLINE4=20 bytes piped, printf exited with 0, sort exited with 0")
weft_example_test(graph_delayed
  "-DLINE0=built 16 nodes, 0 ran so far"
  "-DLINE1=total = 44 on inline (15 nodes ran, 1 culled, 15 tasks after fusion)"
  "-DLINE2=total = 44 on threads:2 (15 nodes ran, 1 culled, 15 tasks after fusion)"
  "-DLINE3=total = 44 on processes:2 (15 nodes ran, 1 culled, 15 tasks after fusion)"
  "-DREGEX4=DOT: digraph weft_graph [{] [.][.][.] [(][0-9]+ bytes[)]"
  "-DLINE5=with a bad input: WEFT_EINVAL"
  "-DREGEX6=  node 'inc-5' failed: WEFT_EINVAL: inc[(]-5[)]: negative input[;] chain to target: inc-5 -> add-1-2 -> add-2-1 -> total")
weft_example_test(deadlock_found
  "-DLINE0=unordered transfers: 1 lock-order problem(s) reported"
  "-DREGEX1=ordered transfers: 0 new problem[(]s[)][;] balances 90 and 110"
  "-DREGEX2=possible deadlock [(]lock order, WEFT_DEBUG=locks[)]")
weft_example_test(unbalanced_profile
  "-DREGEX2=64 items: 4 slow [(]100 units each[)], 60 fast [(]1 unit each[)], 460 units in all[;] 4 workers"
  "-DLINE1=static chunks (grain 16): heaviest chunk 412 units -> at most 1.12x faster than one worker"
  "-DLINE2=dynamic chunks (grain 1): heaviest chunk 100 units -> at most 4.00x faster than one worker"
  "-DREGEX0=  measured: busy ms per worker \\[[0-9. ]+\\], imbalance [0-9.]+x \\(max/mean\\), wall [0-9.]+ ms"
  "-DREGEX1=trace written to unbalanced_profile.json \\(weft trace report")

# tests/tests_process.cmake — the shared library test_process uses: linked
# into it, and copied + dlopen'ed at run time (path passed as a define);
# test_ppool runs one of its functions as a pool task.
add_library(weft_testplugin SHARED ${CMAKE_CURRENT_SOURCE_DIR}/plugin/testplugin.c)
set_target_properties(weft_testplugin PROPERTIES C_VISIBILITY_PRESET default)
if(TARGET test_process)
  target_link_libraries(test_process PRIVATE weft_testplugin dl)
  target_compile_definitions(test_process PRIVATE
    WEFT_TESTPLUGIN_PATH="$<TARGET_FILE:weft_testplugin>")
endif()
if(TARGET test_ppool)
  target_link_libraries(test_ppool PRIVATE weft_testplugin)
endif()

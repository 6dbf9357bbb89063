# tests/tests_install.cmake — install into a scratch prefix and build outside
# programs against it (pkg-config and find_package). Skipped in sanitizer
# builds: the installed libraries would need the sanitizer runtime to link.
if(NOT WEFT_SANITIZE STREQUAL "")
  return()
endif()

add_test(NAME install
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/install_check
    -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/install_consumer
    -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
    -DVERSION=${PROJECT_VERSION}
    -DCC=${CMAKE_C_COMPILER}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/install_check.cmake)
set_tests_properties(install PROPERTIES TIMEOUT 240 LABELS install)

# tests/install_check.cmake — installs a build into a scratch prefix and uses
# it from outside, the two ways a user would:
#   1. cc main.c $(pkg-config --cflags --libs weft), run with LD_LIBRARY_PATH;
#   2. a CMake project doing find_package(weft) with CMAKE_PREFIX_PATH,
#      linking weft::weft and weft::weft_static.
# Arguments: -DBUILD_DIR -DWORK_DIR -DSOURCE_DIR -DLIBDIR -DVERSION -DCC
cmake_minimum_required(VERSION 3.20)

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("-- ${what}: ${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install_check: ${what} failed (${rc})")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f ${LIBDIR}/libweft.a ${LIBDIR}/libweft.so ${LIBDIR}/pkgconfig/weft.pc
          include/weft/weft.h include/weft/pool.h bin/weft
          ${LIBDIR}/cmake/weft/weftConfig.cmake ${LIBDIR}/cmake/weft/weftConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install_check: ${f} was not installed")
  endif()
endforeach()

# 1. pkg-config
set(env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig)
run("pkg-config" ${env} pkg-config --cflags --libs weft)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("compile with pkg-config" ${CC} -std=gnu11 -Wall -Wextra -Werror
    "-DWEFT_EXPECT_VERSION=\"${VERSION}\"" ${SOURCE_DIR}/main.c ${flags}
    -o ${WORK_DIR}/consumer_pc)
run("run (pkg-config build)" ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR}
    ${WORK_DIR}/consumer_pc)
run("pkg-config --static" ${env} pkg-config --static --libs weft)
if(NOT last_output MATCHES "-lpthread" OR NOT last_output MATCHES "-lm")
  message(FATAL_ERROR "install_check: Libs.private lacks -lpthread -lm: ${last_output}")
endif()

# 2. find_package(weft)
run("configure find_package project" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/cmake-build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CC})
run("build find_package project" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run("run weft::weft consumer" ${WORK_DIR}/cmake-build/consumer_shared)
run("run weft::weft_static consumer" ${WORK_DIR}/cmake-build/consumer_static)
run("installed weft --version" ${prefix}/bin/weft --version)
file(REMOVE_RECURSE ${WORK_DIR})
message("install_check: ok")

# cmake/install.cmake — `make install` / `cmake --install`: the libraries,
# the headers, the weft command, a pkg-config file and a CMake package.
#
#   pkg-config:  cc app.c $(pkg-config --cflags --libs weft)
#   CMake:       find_package(weft REQUIRED)
#                target_link_libraries(app PRIVATE weft::weft)   # or weft::weft_static
#
# Included by the top CMakeLists.txt after the targets are defined.
include(CMakePackageConfigHelpers)

set(WEFT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/weft)

# Exported names match the in-tree aliases: weft::weft (shared), weft::weft_static.
set_target_properties(weft_shared PROPERTIES EXPORT_NAME weft)
set_target_properties(weft_static PROPERTIES EXPORT_NAME weft_static)

install(TARGETS weft_static weft_shared EXPORT weftTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS weft RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/weft
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

# ---- CMake package: weftConfig.cmake, weftConfigVersion.cmake, weftTargets ----
install(EXPORT weftTargets NAMESPACE weft:: FILE weftTargets.cmake
  DESTINATION ${WEFT_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/weftConfig.cmake.in
  ${PROJECT_BINARY_DIR}/weftConfig.cmake
  INSTALL_DESTINATION ${WEFT_CMAKE_DIR})
# 0.x releases may break the ABI with every minor version.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_weft_compat SameMinorVersion)
else()
  set(_weft_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${_weft_compat})
install(FILES ${PROJECT_BINARY_DIR}/weftConfig.cmake ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
  DESTINATION ${WEFT_CMAKE_DIR})

# ---- pkg-config: weft.pc ----
# Generated at install time, so that `cmake --install --prefix <dir>` writes
# the prefix actually installed to, not the one configured.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(_weft_pc_libdir "${CMAKE_INSTALL_LIBDIR}")
else()
  set(_weft_pc_libdir "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(_weft_pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(_weft_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
install(CODE "
  set(WEFT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(WEFT_PC_LIBDIR [[${_weft_pc_libdir}]])
  set(WEFT_PC_INCLUDEDIR [[${_weft_pc_includedir}]])
  set(WEFT_PC_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/weft.pc.in\" \"${PROJECT_BINARY_DIR}/weft.pc\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/weft.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- the manual page and bash completion of the weft command ----
install(FILES ${PROJECT_SOURCE_DIR}/docs/weft.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/scripts/weft-completion.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME weft)

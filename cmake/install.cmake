# Install rules: the libraries, their headers, the programs, the CMake package (refcacheConfig
# .cmake with a version file, targets refcache::jsonio, ::metrics, ::core, ::mcp, ::mcp_client,
# ::mcp_cache)
# and a pkg-config file. Included by the top-level CMakeLists.txt when REFCACHE_INSTALL is on.
include(CMakePackageConfigHelpers)

set(_targets refcache_jsonio refcache_metrics refcache_core refcache_mcp_sdk refcache_mcp_client
             refcache_mcp_cache)
if(REFCACHE_WITH_SQLITE)
  list(APPEND _targets refcache_sqlite3)
  if(REFCACHE_BUNDLED_SQLITE)
    # The static SQLite the core links, where refcache::sqlite3 of an install points.
    install(FILES "${REFCACHE_SQLITE_DIR}/lib/libsqlite3.a"
            DESTINATION ${CMAKE_INSTALL_LIBDIR}/refcache COMPONENT development)
  endif()
endif()
install(TARGETS ${_targets} EXPORT refcacheTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# Public headers; a backend left out of the build leaves its headers out too.
set(_exclude)
if(NOT REFCACHE_WITH_SQLITE)
  list(APPEND _exclude PATTERN "sqlite_backend.hpp" EXCLUDE PATTERN "ref_query.hpp" EXCLUDE)
endif()
if(NOT REFCACHE_WITH_REDIS)
  list(APPEND _exclude PATTERN "redis_*.hpp" EXCLUDE)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT development FILES_MATCHING PATTERN "*.hpp" ${_exclude})
install(FILES ${PROJECT_BINARY_DIR}/include/refcache/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/refcache COMPONENT development)

set(_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/refcache)
install(EXPORT refcacheTargets NAMESPACE refcache:: DESTINATION ${_cmakedir}
        COMPONENT development)
configure_package_config_file(cmake/refcacheConfig.cmake.in
  ${PROJECT_BINARY_DIR}/refcacheConfig.cmake INSTALL_DESTINATION ${_cmakedir})
# 0.x: a minor version may change the interface, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/refcacheConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/refcacheConfig.cmake
        ${PROJECT_BINARY_DIR}/refcacheConfigVersion.cmake
        DESTINATION ${_cmakedir} COMPONENT development)

# pkg-config: one package, refcache, for every library (the linker keeps what is used).
set(_pc_requires "")
set(_pc_libs "")
if(REFCACHE_WITH_SQLITE)
  if(REFCACHE_BUNDLED_SQLITE)
    string(APPEND _pc_libs "\${libdir}/refcache/libsqlite3.a -lm ")
  else()
    string(APPEND _pc_requires " sqlite3")
  endif()
endif()
if(REFCACHE_WITH_REDIS)
  string(APPEND _pc_requires " hiredis libzstd")
endif()
# libssl: TLS to Redis, and the MCP client's https://.
string(APPEND _pc_requires " libssl libcrypto spdlog fmt CLI11")
string(APPEND _pc_libs "-lpthread")
configure_file(cmake/refcache.pc.in ${PROJECT_BINARY_DIR}/refcache.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/refcache.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)

# The programs.
if(REFCACHE_BUILD_APPS)
  install(TARGETS refcache-calculator refcache-data-analysis refcache-demo refcache-gateway
                  refcache-admin
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

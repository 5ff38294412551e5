# CPack: one Debian package, refcache_<version>_amd64.deb, holding everything cmake --install
# installs (cmake/install.cmake): the programs, the static libraries, the headers, the CMake
# package and the pkg-config file, under /usr. Included by the top-level CMakeLists.txt after
# the install rules; `cpack -G DEB` in a build folder makes it, and scripts/package makes it
# from an install of the build without rebuilding (docs/packaging.md).
#
# Dependencies: the programs link Boost.JSON/URL, OpenSSL, hiredis, zstd, spdlog, fmt and
# muParser as shared libraries, so Depends is computed from the binaries by dpkg-shlibdeps.
# The headers and the CMake package need the -dev packages of the same libraries to build
# against; they are Suggests, so installing the servers does not pull in a compiler's worth
# of headers.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME refcache)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "refcache")
set(CPACK_PACKAGE_CONTACT "refcache maintainers <maintainers@refcache.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # refcache_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
# The summary is the synopsis line; this is the extended description under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "refcache stores large MCP tool results and hands the agent a ref_id with a size-bounded
preview. This package holds the servers refcache-calculator, refcache-data-analysis and
refcache-gateway, the demo refcache-demo, and the C++20 libraries with their headers, CMake
package (find_package(refcache)) and pkg-config file.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(_suggests "libboost-json1.81-dev, libboost-url1.81-dev, libssl-dev, libspdlog-dev")
string(APPEND _suggests ", libfmt-dev, libcli11-dev")
if(REFCACHE_WITH_REDIS)
  string(APPEND _suggests ", libhiredis-dev, libzstd-dev")
endif()
if(REFCACHE_WITH_SQLITE AND NOT REFCACHE_BUNDLED_SQLITE)
  string(APPEND _suggests ", libsqlite3-dev")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "${_suggests}")
# One package for every install component (runtime and development).
set(CPACK_DEB_COMPONENT_INSTALL OFF)
include(CPack)

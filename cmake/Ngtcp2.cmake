# Which ngtcp2 quictun builds against.
#
#   source (default): ngtcp2 1.11.0 and its GnuTLS crypto library built here as static
#     libraries from Debian's own source tarball (scripts/fetch-ngtcp2-source.sh puts it in
#     .deps/ and checks its sha256). One project file, core/quic/ngtcp2_cc_hook.c, is compiled
#     against ngtcp2's internal headers and installs plugin congestion controllers in a
#     connection. No ngtcp2 file is modified.
#   system: the distribution's shared libngtcp2 (>= 1.11). It has no controller hook, so only
#     ngtcp2's own cubic, reno and bbr can be chosen.
#
# Defines the target quictun::ngtcp2 and, for the source build, QUICTUN_NGTCP2_INTERNAL_INCLUDE.
set(QUICTUN_NGTCP2 "source" CACHE STRING "ngtcp2 to build against: source or system")
set_property(CACHE QUICTUN_NGTCP2 PROPERTY STRINGS source system)

add_library(quictun_ngtcp2 INTERFACE)
add_library(quictun::ngtcp2 ALIAS quictun_ngtcp2)

if(QUICTUN_NGTCP2 STREQUAL "system")
  pkg_check_modules(NGTCP2 REQUIRED IMPORTED_TARGET libngtcp2>=1.11 libngtcp2_crypto_gnutls>=1.11)
  target_link_libraries(quictun_ngtcp2 INTERFACE PkgConfig::NGTCP2 GnuTLS::GnuTLS)
  set(QUICTUN_CC_HOOK OFF)
elseif(QUICTUN_NGTCP2 STREQUAL "source")
  set(QUICTUN_NGTCP2_SHA256 "382c15bf66b630f26021631b25b7eb1feac42c67c1d6826189d61091dfaa4d09")
  set(QUICTUN_NGTCP2_TARBALL "${CMAKE_SOURCE_DIR}/.deps/ngtcp2_1.11.0.orig.tar.xz" CACHE FILEPATH
      "Debian's ngtcp2 1.11.0 orig tarball")
  if(NOT EXISTS "${QUICTUN_NGTCP2_TARBALL}")
    message(FATAL_ERROR "${QUICTUN_NGTCP2_TARBALL} is missing: run scripts/fetch-ngtcp2-source.sh "
                        "(scripts/setup.sh does), or configure with -DQUICTUN_NGTCP2=system")
  endif()
  file(SHA256 "${QUICTUN_NGTCP2_TARBALL}" tarball_sha256)
  if(NOT tarball_sha256 STREQUAL QUICTUN_NGTCP2_SHA256)
    message(FATAL_ERROR "${QUICTUN_NGTCP2_TARBALL}: sha256 ${tarball_sha256}, expected "
                        "${QUICTUN_NGTCP2_SHA256}; run scripts/fetch-ngtcp2-source.sh again")
  endif()

  include(ExternalProject)
  set(ngtcp2_prefix "${CMAKE_BINARY_DIR}/ngtcp2")
  set(ngtcp2_src "${ngtcp2_prefix}/src/ngtcp2_source")
  set(ngtcp2_lib "${ngtcp2_prefix}/lib/libngtcp2.a")
  set(ngtcp2_crypto_lib "${ngtcp2_prefix}/lib/libngtcp2_crypto_gnutls.a")
  # Release flags without -DNDEBUG: ngtcp2's assertions stay on, as in Debian's build (a
  # missing callback or a misused API aborts at once instead of misbehaving later).
  ExternalProject_Add(ngtcp2_source
    URL "${QUICTUN_NGTCP2_TARBALL}"
    URL_HASH SHA256=${QUICTUN_NGTCP2_SHA256}
    PREFIX "${ngtcp2_prefix}"
    INSTALL_DIR "${ngtcp2_prefix}"
    CMAKE_ARGS
      -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
      -DCMAKE_INSTALL_LIBDIR=lib
      -DCMAKE_BUILD_TYPE=Release
      "-DCMAKE_C_FLAGS_RELEASE=-O2 -g"
      -DCMAKE_POSITION_INDEPENDENT_CODE=ON
      -DENABLE_STATIC_LIB=ON -DENABLE_SHARED_LIB=OFF
      -DENABLE_GNUTLS=ON -DENABLE_OPENSSL=OFF
      -DBUILD_TESTING=OFF
    BUILD_BYPRODUCTS "${ngtcp2_lib}" "${ngtcp2_crypto_lib}"
    DOWNLOAD_EXTRACT_TIMESTAMP ON)
  file(MAKE_DIRECTORY "${ngtcp2_prefix}/include")

  add_library(quictun_ngtcp2_core STATIC IMPORTED GLOBAL)
  set_target_properties(quictun_ngtcp2_core PROPERTIES
    IMPORTED_LOCATION "${ngtcp2_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${ngtcp2_prefix}/include"
    INTERFACE_COMPILE_DEFINITIONS NGTCP2_STATICLIB)
  add_library(quictun_ngtcp2_crypto STATIC IMPORTED GLOBAL)
  set_target_properties(quictun_ngtcp2_crypto PROPERTIES
    IMPORTED_LOCATION "${ngtcp2_crypto_lib}"
    INTERFACE_LINK_LIBRARIES "quictun_ngtcp2_core;GnuTLS::GnuTLS")
  add_dependencies(quictun_ngtcp2 ngtcp2_source)
  target_link_libraries(quictun_ngtcp2 INTERFACE quictun_ngtcp2_crypto quictun_ngtcp2_core GnuTLS::GnuTLS)
  set(QUICTUN_NGTCP2_INTERNAL_INCLUDE "${ngtcp2_src}/lib")
  set(QUICTUN_CC_HOOK ON)
else()
  message(FATAL_ERROR "QUICTUN_NGTCP2 must be 'source' or 'system', not '${QUICTUN_NGTCP2}'")
endif()
message(STATUS "quictun: ngtcp2 from ${QUICTUN_NGTCP2} (plugin congestion controllers: ${QUICTUN_CC_HOOK})")

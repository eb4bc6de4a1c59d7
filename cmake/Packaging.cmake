# What `cmake --install` lays out beyond the programs, plugins and SDK (systemd units, example
# configurations, docs), and the Debian packages CPack builds from it:
#   quictun      the programs, the plugins, the units, /etc/quictun/examples
#   quictun-dev  the plugin SDK: headers and the CMake package
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for packages (GNUInstallDirs then puts plugins in
# lib/<multiarch> and the configuration in /etc), then `cpack -G DEB` in the build tree.
# tests/package builds them that way, installs them in a scratch root and runs them.

# /etc only for a system prefix; any other prefix keeps everything under itself, so that
# `cmake --install --prefix /tmp/x` never writes outside /tmp/x.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(QUICTUN_CONFIG_DIR "/etc/quictun")
  set(QUICTUN_FULL_CONFIG_DIR "/etc/quictun")
else()
  set(QUICTUN_CONFIG_DIR "${CMAKE_INSTALL_SYSCONFDIR}/quictun")
  set(QUICTUN_FULL_CONFIG_DIR "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}/quictun")
endif()
set(QUICTUN_UNIT_DIR "lib/systemd/system")  # /usr/lib/systemd/system under /usr (Debian 12 and 13)
set(QUICTUN_FULL_BIN_DIR "${CMAKE_INSTALL_FULL_BINDIR}")
set(QUICTUN_FULL_DOC_DIR "${CMAKE_INSTALL_FULL_DOCDIR}")

foreach(unit quictun-server.service quictun-client@.service)
  configure_file("${PROJECT_SOURCE_DIR}/packaging/systemd/${unit}.in" "${PROJECT_BINARY_DIR}/packaging/${unit}" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/packaging/${unit}" DESTINATION "${QUICTUN_UNIT_DIR}" COMPONENT runtime)
endforeach()
set(QUICTUN_EXAMPLE_CONFIGS
  examples/quictun.toml
  examples/quic-tun/quictun-server.yaml examples/quic-tun/quictun-client.yaml
  examples/quic-tun/quictun-server.json examples/quic-tun/quictun-client.json)
list(TRANSFORM QUICTUN_EXAMPLE_CONFIGS PREPEND "${PROJECT_SOURCE_DIR}/")
# Examples, not live configurations: a unit finds no file until the operator puts one in place,
# so installing the package never starts a tunnel with a generated certificate.
install(FILES ${QUICTUN_EXAMPLE_CONFIGS} DESTINATION "${QUICTUN_CONFIG_DIR}/examples" COMPONENT runtime)
install(FILES "${PROJECT_SOURCE_DIR}/README.md" "${PROJECT_SOURCE_DIR}/docs/wire-protocol.md"
        DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME quictun)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "quictun")
set(CPACK_PACKAGE_CONTACT "quictun developers <quictun@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")  # the layout was chosen for it
# /etc/quictun is an absolute destination: install into the package's root, not the machine's.
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime sdk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME quictun)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# dpkg-shlibdeps turns every library the programs and plugins link into Debian's package names
# (libgnutls30, libevent-2.1-7, ...); ngtcp2 is linked statically, so it is not among them.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
  "QUIC tunnel for weak networks\n quictun-server and quictun-client carry TCP and UNIX-socket connections over one\n QUIC connection, compatible with quic-tun v0.0.5; token, transport and congestion\n control plugins; systemd units quictun-server.service and quictun-client@.service.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/packaging/conffiles")
set(conffiles "")
foreach(f IN LISTS QUICTUN_EXAMPLE_CONFIGS)
  get_filename_component(name "${f}" NAME)
  string(APPEND conffiles "${QUICTUN_FULL_CONFIG_DIR}/examples/${name}\n")
endforeach()
file(WRITE "${PROJECT_BINARY_DIR}/packaging/conffiles" "${conffiles}")

set(CPACK_DEBIAN_SDK_PACKAGE_NAME quictun-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS "quictun (= ${PROJECT_VERSION}), libboost-dev (>= 1.74)")
set(CPACK_COMPONENT_SDK_DESCRIPTION
  "quictun plugin SDK\n Headers and the CMake package (find_package(quictun-sdk), quictun_add_plugin())\n to build token source, token parser, transport and congestion control plugins.")
include(CPack)

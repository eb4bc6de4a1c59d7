# cmake -DSOURCE_DIR=... -DWORK_DIR=... -DPYTHON=... -DDPKG_DEB=... -DSYSTEMD_ANALYZE=... -P package_test.cmake
#
# 1. configure SOURCE_DIR for /usr (no tests), build it, `cpack -G DEB`;
# 2. check the two packages: names, Debian dependencies from dpkg-shlibdeps, the layout;
# 3. unpack both into a scratch root (dpkg-deb -x) and run its programs against each other
#    from the packaged quic-tun YAML examples (installed_tunnel.py), hash-checked;
# 4. systemd-analyze verify the packaged units.
cmake_minimum_required(VERSION 3.25)

foreach(var SOURCE_DIR WORK_DIR PYTHON DPKG_DEB SYSTEMD_ANALYZE ARCH)
  if(NOT ${var})
    message(FATAL_ERROR "package: ${var} is not set (python3, dpkg-dev and systemd come from scripts/setup.sh)")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "package: ${what} failed (${code})\n${out}\n${err}")
  endif()
  set(run_output "${out}${err}" PARENT_SCOPE)
endfunction()

set(build "${WORK_DIR}/build")
set(root "${WORK_DIR}/root")
set(packages "${WORK_DIR}/packages")
file(REMOVE_RECURSE "${root}" "${packages}" "${WORK_DIR}/run")
file(MAKE_DIRECTORY "${root}" "${packages}" "${WORK_DIR}/run")

set(args -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUICTUN_BUILD_TESTS=OFF)
if(NGTCP2)
  list(APPEND args "-DQUICTUN_NGTCP2=${NGTCP2}")
endif()
if(NGTCP2_TARBALL)
  list(APPEND args "-DQUICTUN_NGTCP2_TARBALL=${NGTCP2_TARBALL}")
endif()
if(LAUNCHER)
  list(APPEND args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}" "-DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
run("configuring for /usr" ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${build}" ${args})
run("building" ${CMAKE_COMMAND} --build "${build}" -j2)
run("cpack" ${CMAKE_COMMAND} -E chdir "${build}" cpack -G DEB -B "${packages}")

file(GLOB runtime_deb "${packages}/quictun_*.deb")
file(GLOB sdk_deb "${packages}/quictun-dev_*.deb")
if(NOT runtime_deb OR NOT sdk_deb)
  file(GLOB all "${packages}/*")
  message(FATAL_ERROR "package: expected quictun_*.deb and quictun-dev_*.deb, got: ${all}")
endif()

# Dependencies are Debian's package names; ngtcp2 is static, so it must not be among them.
run("reading ${runtime_deb}" ${DPKG_DEB} -f "${runtime_deb}" Depends)
set(depends "${run_output}")
foreach(dep libgnutls30 libevent libsystemd0 libyaml-cpp libstdc++6)
  string(FIND "${depends}" "${dep}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "package: quictun does not depend on ${dep}: ${depends}")
  endif()
endforeach()
if(depends MATCHES "ngtcp2")
  message(FATAL_ERROR "package: quictun depends on ngtcp2, which is linked statically: ${depends}")
endif()
run("reading ${sdk_deb}" ${DPKG_DEB} -f "${sdk_deb}" Depends)
if(NOT run_output MATCHES "quictun \\(= " OR NOT run_output MATCHES "libboost-dev")
  message(FATAL_ERROR "package: quictun-dev must depend on quictun and libboost-dev: ${run_output}")
endif()
run("reading ${runtime_deb}" ${DPKG_DEB} -f "${runtime_deb}" Conffiles)

run("unpacking ${runtime_deb}" ${DPKG_DEB} -x "${runtime_deb}" "${root}")
run("unpacking ${sdk_deb}" ${DPKG_DEB} -x "${sdk_deb}" "${root}")
foreach(f
    usr/bin/quictun-server usr/bin/quictun-client
    usr/lib/${ARCH}/quictun/plugins/quictun-transport-tcp.so
    usr/lib/${ARCH}/quictun/plugins/quictun-token-fixed.so
    usr/lib/systemd/system/quictun-server.service usr/lib/systemd/system/quictun-client@.service
    etc/quictun/examples/quictun.toml etc/quictun/examples/quictun-server.yaml
    etc/quictun/examples/quictun-client.yaml
    usr/share/doc/quictun/README.md
    usr/include/quictun/sdk.hpp usr/lib/${ARCH}/cmake/quictun-sdk/quictun-sdk-config.cmake)
  if(NOT EXISTS "${root}/${f}")
    message(FATAL_ERROR "package: /${f} is not in the packages")
  endif()
endforeach()
# The SDK files belong to quictun-dev alone.
run("listing ${runtime_deb}" ${DPKG_DEB} -c "${runtime_deb}")
if(run_output MATCHES "usr/include/")
  message(FATAL_ERROR "package: the SDK headers are in quictun, not quictun-dev")
endif()

run("running the unpacked programs" ${PYTHON} "${CMAKE_CURRENT_LIST_DIR}/installed_tunnel.py"
    --root "${root}" --work "${WORK_DIR}/run")
message(STATUS "package: ${run_output}")

# The units as packaged, with ExecStart= pointing into the scratch root (the programs are not
# installed on this machine): systemd-analyze checks every directive and that the commands exist.
# Any output (an unknown directive is only a warning to it) fails the test.
set(verify "${WORK_DIR}/verify")
file(REMOVE_RECURSE "${verify}")
file(MAKE_DIRECTORY "${verify}")
foreach(unit quictun-server.service quictun-client@.service)
  file(READ "${root}/usr/lib/systemd/system/${unit}" text)
  string(REPLACE "/usr/bin/quictun-" "${root}/usr/bin/quictun-" text "${text}")
  file(WRITE "${verify}/${unit}" "${text}")
endforeach()
run("systemd-analyze verify" ${SYSTEMD_ANALYZE} verify --man=no
    "${verify}/quictun-server.service" "${verify}/quictun-client@office.yaml.service")
if(run_output MATCHES "[A-Za-z]")
  message(FATAL_ERROR "package: systemd-analyze verify complained:\n${run_output}")
endif()
message(STATUS "package: ${runtime_deb} and ${sdk_deb} built, unpacked, run and verified")

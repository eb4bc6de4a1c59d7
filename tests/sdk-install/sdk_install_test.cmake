# cmake -DBUILD_DIR=... -DEXAMPLE_DIR=... -DWORK_DIR=... -DNM=... -DPYTHON=... -P sdk_install_test.cmake
#
# 1. `cmake --install` the main build into an empty prefix;
# 2. configure and build the example plugin with CMAKE_PREFIX_PATH set to that prefix only,
#    warnings as errors, so the installed headers must be complete and warning-clean;
# 3. check that the plugin exports the aliases the host reads;
# 4. run a tunnel through it with the installed quictun-server and quictun-client.
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR EXAMPLE_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "sdk-install: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "sdk-install: ${what} failed (${code})\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(example_build "${WORK_DIR}/example-build")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

run("installing ${BUILD_DIR}" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(installed include/quictun/sdk.hpp include/quictun/sdk/plugin.hpp)
  if(NOT EXISTS "${prefix}/${installed}")
    message(FATAL_ERROR "sdk-install: ${installed} was not installed")
  endif()
endforeach()
file(GLOB_RECURSE package_config "${prefix}/*/quictun-sdk-config.cmake")
if(NOT package_config)
  message(FATAL_ERROR "sdk-install: no quictun-sdk-config.cmake under ${prefix}")
endif()

set(compiler_args)
if(CXX_COMPILER)
  list(APPEND compiler_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
# The package registry and the system paths could hand over another quictun SDK than the one
# just installed; only system packages the SDK depends on (Boost) may come from there.
run("configuring the example"
  ${CMAKE_COMMAND} -S "${EXAMPLE_DIR}" -B "${example_build}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_BUILD_TYPE=Release
    "-DCMAKE_CXX_FLAGS=-Wall -Wextra -Wpedantic -Werror"
    ${compiler_args})
file(STRINGS "${example_build}/CMakeCache.txt" sdk_dir REGEX "^quictun-sdk_DIR:")
string(FIND "${sdk_dir}" "${prefix}/" at)
if(NOT at GREATER -1)
  message(FATAL_ERROR "sdk-install: the example found the SDK elsewhere: ${sdk_dir}")
endif()
run("building the example" ${CMAKE_COMMAND} --build "${example_build}")

set(plugin "${example_build}/quictun-token-by-port.so")
if(NOT EXISTS "${plugin}")
  message(FATAL_ERROR "sdk-install: ${plugin} was not built")
endif()
if(NOT NM)
  message(FATAL_ERROR "sdk-install: nm (binutils) is needed to read the plugin's exports")
endif()
run("reading the exports of ${plugin}" ${NM} -D --defined-only "${plugin}")
foreach(alias quictun_plugin_abi quictun_plugin_descriptor quictun_provides__token_source__by_port)
  if(NOT run_output MATCHES " ${alias}\n")
    message(FATAL_ERROR "sdk-install: ${plugin} does not export ${alias}\n${run_output}")
  endif()
endforeach()

# 4. The unchanged, installed programs run the plugin: a fresh plugin folder holds the installed
#    transport and token plugins plus the example; quictun-server and quictun-client start from
#    ${prefix}/bin with --plugin-dir pointing there and --token-source-plugin by-port, and bytes
#    go through a real tunnel to an echo backend (example_tunnel.py, bounded in time, kills what
#    it starts).
file(GLOB_RECURSE installed_plugins "${prefix}/*/quictun/plugins/quictun-*.so")
list(LENGTH installed_plugins installed_count)
if(installed_count LESS 6)
  message(FATAL_ERROR "sdk-install: expected the 6 quictun plugins under ${prefix}, found: ${installed_plugins}")
endif()
set(plugin_dir "${WORK_DIR}/plugins")
file(MAKE_DIRECTORY "${plugin_dir}")
file(COPY ${installed_plugins} "${plugin}" DESTINATION "${plugin_dir}")
if(NOT PYTHON)
  message(FATAL_ERROR "sdk-install: python3 is needed to run the tunnel (scripts/setup.sh installs it)")
endif()
execute_process(
  COMMAND "${PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/example_tunnel.py"
    --bin "${prefix}/bin" --plugin-dir "${plugin_dir}" --work "${WORK_DIR}"
  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 180)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "sdk-install: the installed programs did not run a tunnel with the example plugin (${code})\n${out}\n${err}")
endif()
message(STATUS "sdk-install: ${out}")

message(STATUS "sdk-install: ${plugin} built against ${prefix} and exports the quictun aliases")

# cmake -DBUILD_DIR=... -DEXAMPLE_DIR=... -DWORK_DIR=... -DNM=... -P sdk_install_test.cmake
#
# 1. `cmake --install` the main build into an empty prefix;
# 2. configure and build the example plugin with CMAKE_PREFIX_PATH set to that prefix only,
#    warnings as errors, so the installed headers must be complete and warning-clean;
# 3. check that the plugin exports the aliases the host reads.
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

# HOOK (lead, once core/ runs): with the installed programs in ${prefix}/bin, start
# quictun-server (token parser cleartext) and quictun-client with
#   --plugin-dir ${example_build} --token-source-plugin by-port --token-source '<port>=tcp:127.0.0.1:<echo port>'
# and check that bytes sent to the client's listener come back from an echo backend: that proves
# the host finds the plugin by its marker, accepts its ABI and drives it end to end.

message(STATUS "sdk-install: ${plugin} built against ${prefix} and exports the quictun aliases")

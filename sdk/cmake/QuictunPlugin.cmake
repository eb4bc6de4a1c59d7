# quictun_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds a quictun plugin: a shared object named quictun-<name>.so that links the SDK (plus
# LIBRARIES) and exports nothing but its Boost.DLL aliases. Inside the quictun tree it lands in
# the build tree's plugin folder and installs beside the host's other plugins.
function(quictun_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  set(target "quictun-${name}")
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE quictun::sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "quictun-${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(NOT ARG_OUTPUT_DIRECTORY AND DEFINED QUICTUN_PLUGIN_BUILD_DIR)
    set(ARG_OUTPUT_DIRECTORY "${QUICTUN_PLUGIN_BUILD_DIR}")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
  if(DEFINED QUICTUN_PLUGIN_INSTALL_DIR AND NOT ARG_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION "${QUICTUN_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()

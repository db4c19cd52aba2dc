# SPDX-License-Identifier: MIT
# wxp_embed(OUT <file.c> ENTRIES name=rel ...): generates <file.c> defining `const char name[]`
# for each fixtures/<rel>, rebuilt when a fixture changes. TEST ONLY material, so the installed
# tools work from any directory.
function(wxp_embed)
  cmake_parse_arguments(E "" "OUT" "ENTRIES" ${ARGN})
  set(deps "")
  foreach(entry IN LISTS E_ENTRIES)
    string(REPLACE "=" ";" parts "${entry}")
    list(GET parts 1 rel)
    list(APPEND deps "${WXP_FIXTURES_DIR}/${rel}")
  endforeach()
  string(REPLACE ";" "|" joined "${E_ENTRIES}")
  add_custom_command(
    OUTPUT "${E_OUT}"
    COMMAND "${CMAKE_COMMAND}" "-DOUT=${E_OUT}" "-DDIR=${WXP_FIXTURES_DIR}" "-DENTRIES=${joined}"
            -P "${PROJECT_SOURCE_DIR}/cmake/embed.cmake"
    DEPENDS "${PROJECT_SOURCE_DIR}/cmake/embed.cmake" ${deps}
    COMMENT "Embedding TEST ONLY fixtures into ${E_OUT}"
    VERBATIM)
endfunction()

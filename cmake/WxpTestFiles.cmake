# SPDX-License-Identifier: MIT
# wxp_test_files(DIR <dir> NAMES <n>...): the test_<n>.c files of a test directory are exactly the
# listed ones. A listed file that is missing (renamed) or a test_*.c that no list names (new, or
# the new name of a renamed one) stops the configure, instead of silently dropping out of ctest.
function(wxp_test_files)
  cmake_parse_arguments(ARG "" "DIR" "NAMES" ${ARGN})
  set(want "")
  foreach(n IN LISTS ARG_NAMES)
    list(APPEND want "test_${n}.c")
    if(NOT EXISTS "${ARG_DIR}/test_${n}.c")
      message(FATAL_ERROR "${ARG_DIR}: test_${n}.c is listed but does not exist")
    endif()
  endforeach()
  # CONFIGURE_DEPENDS: a test file added later re-runs the check (not available under cmake -P).
  set(recheck CONFIGURE_DEPENDS)
  if(CMAKE_SCRIPT_MODE_FILE)
    set(recheck "")
  endif()
  file(GLOB found RELATIVE "${ARG_DIR}" ${recheck} "${ARG_DIR}/test_*.c")
  foreach(f IN LISTS found)
    if(NOT f IN_LIST want)
      message(FATAL_ERROR "${ARG_DIR}: ${f} is not in the list of tests; add it")
    endif()
  endforeach()
endfunction()

# SPDX-License-Identifier: MIT
# cmake -DMODULE=cmake/WxpTestFiles.cmake -DWORK=<empty dir> -P test_files_check.cmake
# wxp_test_files accepts a directory whose test_*.c are exactly the listed ones, and stops the
# configure (FATAL_ERROR) for a listed file that is missing and for a test_*.c no list names.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/t")
file(WRITE "${WORK}/t/test_a.c" "")
file(WRITE "${WORK}/t/test_b.c" "")
file(WRITE "${WORK}/t/helper.c" "")

function(expect names want_rc want_text)
  file(WRITE "${WORK}/run.cmake"
       "cmake_minimum_required(VERSION 3.25)\ninclude(\"${MODULE}\")\nwxp_test_files(DIR \"${WORK}/t\" NAMES ${names})\n")
  execute_process(COMMAND "${CMAKE_COMMAND}" -P "${WORK}/run.cmake" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  # CMake wraps its messages at spaces, where the path's length decides: undo that.
  string(REGEX REPLACE "[ \n]+" " " out "${out}")
  if((want_rc EQUAL 0 AND NOT rc EQUAL 0) OR (NOT want_rc EQUAL 0 AND rc EQUAL 0))
    message(FATAL_ERROR "NAMES ${names}: exit ${rc}, wanted ${want_rc}: ${out}")
  endif()
  if(NOT want_text STREQUAL "" AND NOT out MATCHES "${want_text}")
    message(FATAL_ERROR "NAMES ${names}: no \"${want_text}\" in: ${out}")
  endif()
endfunction()

expect("a b" 0 "")
expect("b a" 0 "")
expect("a" 1 "test_b.c is not in the list")
expect("a b c" 1 "test_c.c is listed but does not exist")
file(RENAME "${WORK}/t/test_b.c" "${WORK}/t/test_b2.c")
expect("a b" 1 "test_b.c is listed but does not exist")
file(REMOVE_RECURSE "${WORK}")
message(STATUS "test_files_check: ok")

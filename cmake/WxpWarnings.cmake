# SPDX-License-Identifier: MIT
# wxp::warnings: the warning set every target links PRIVATE (no global CMAKE_C_FLAGS edits).
add_library(wxp_warnings INTERFACE)
add_library(wxp::warnings ALIAS wxp_warnings)
target_compile_options(wxp_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wcast-qual -Wwrite-strings -Wstrict-prototypes
  -Wmissing-prototypes -Wformat=2 -Wundef -Wswitch-enum -Wconversion -Wvla
  $<$<BOOL:${WXP_WERROR}>:-Werror>)

# SPDX-License-Identifier: MIT
# WXP_SANITIZE=address,undefined builds everything (tests included) with those sanitizers.
if(WXP_SANITIZE)
  add_compile_options(-fsanitize=${WXP_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${WXP_SANITIZE})
endif()

# Sanitizer and fuzzing builds (docs/reliability.md).
#
#   -DKILN_SANITIZE="address;undefined"   (or "thread")
#       every Kiln target, the runtime bitcode that kilnc links into generated
#       libraries, and the programs the tests link against them (lit's %cc and
#       %cxx) are built with these sanitizers, so the whole ctest suite runs
#       under them. Undefined behaviour aborts rather than printing and going on.
#   -DKILN_FUZZ=ON
#       also instruments the code for libFuzzer's coverage and builds the
#       fuzz targets (fuzz/); implies address;undefined when KILN_SANITIZE is
#       empty. Needs clang and its sanitizer runtimes (libclang-rt-22-dev).
set(KILN_SANITIZE "" CACHE STRING
    "Sanitizers for the whole build: address;undefined, or thread (empty: none)")
option(KILN_FUZZ "Build the libFuzzer targets in fuzz/ (clang, ASan+UBSan)" OFF)

if(KILN_FUZZ AND NOT KILN_SANITIZE)
  set(KILN_SANITIZE "address;undefined" CACHE STRING "" FORCE)
endif()

set(KILN_SANITIZE_FLAGS)
if(KILN_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KILN_SANITIZE and KILN_FUZZ need clang (CC=clang-22 CXX=clang++-22)")
  endif()
  list(JOIN KILN_SANITIZE "," kiln_sanitizer_list)
  set(KILN_SANITIZE_FLAGS -fsanitize=${kiln_sanitizer_list} -fno-omit-frame-pointer -g)
  if("undefined" IN_LIST KILN_SANITIZE)
    list(APPEND KILN_SANITIZE_FLAGS -fno-sanitize-recover=all)
  endif()
  add_compile_options(${KILN_SANITIZE_FLAGS})
  add_link_options(${KILN_SANITIZE_FLAGS})
  message(STATUS "Kiln sanitizers: ${kiln_sanitizer_list}")
endif()
if(KILN_FUZZ)
  # Coverage for libFuzzer in every object; only the fuzz targets link its main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
# For the test configuration: one string, as a command line would hold it.
list(JOIN KILN_SANITIZE_FLAGS " " KILN_SANITIZE_FLAGS_STRING)

# Project-wide compile settings and small helpers for declaring targets.

add_library(bastion_options INTERFACE)
target_include_directories(bastion_options INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_options(bastion_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
                       -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(BASTION_WERROR)
  target_compile_options(bastion_options INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Clang checks the locking annotations of codec/thread_annotations.h.
  target_compile_options(bastion_options INTERFACE -Wthread-safety)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false positives inside libstdc++ at -O2/-O3 (PR 105651, 106199).
  target_compile_options(bastion_options INTERFACE -Wno-restrict -Wno-array-bounds
                         -Wno-stringop-overflow -Wno-stringop-overread -Wno-maybe-uninitialized
                         -Wno-null-dereference)
endif()
if(BASTION_SANITIZE)
  target_compile_options(bastion_options INTERFACE -fsanitize=address,undefined
                         -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(bastion_options INTERFACE -fsanitize=address,undefined)
endif()

if(BASTION_TSAN)
  target_compile_options(bastion_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(bastion_options INTERFACE -fsanitize=thread)
endif()

if(BASTION_FUZZ)
  target_compile_options(bastion_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

# Everything the sanitizer pass of ./test.sh runs (unit and fuzz-replay tests), so that build can
# skip the daemon, tools and simulations; and what its ThreadSanitizer pass runs (the tests
# labelled "threads": where the io thread meets the storage worker, checkpoint capture, HTTP
# threads and client threads).
add_custom_target(bastion_sanitized_tests)
add_custom_target(bastion_thread_tests)

# bastion_library(NAME SOURCES... DEPS...): a static library of one folder.
function(bastion_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC bastion_options ${ARG_DEPS})
endfunction()

# bastion_test(NAME SOURCES... DEPS... [LABELS...] [TIMEOUT s]): a GoogleTest binary run by ctest.
function(bastion_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE bastion_options ${ARG_DEPS} GTest::gtest GTest::gmock
                        GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(bastion_sanitized_tests ${name})
  endif()
  if("threads" IN_LIST ARG_LABELS)
    add_dependencies(bastion_thread_tests ${name})
  endif()
endfunction()

# bastion_fuzz(NAME SOURCE DEPS... [CORPUS dirs...]): a libFuzzer target with BASTION_FUZZ (clang),
# otherwise a deterministic replay/mutation test (tests/fuzz/replay_main.cc) run by ctest.
function(bastion_fuzz name)
  cmake_parse_arguments(ARG "" "SOURCE" "DEPS;CORPUS" ${ARGN})
  add_executable(${name} ${ARG_SOURCE})
  target_link_libraries(${name} PRIVATE bastion_options ${ARG_DEPS})
  if(BASTION_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    set(corpus "")
    if(ARG_CORPUS)
      set(corpus ${ARG_CORPUS})
    endif()
    add_test(NAME ${name} COMMAND ${name} --runs 20000 ${corpus})
    set_tests_properties(${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
    add_dependencies(bastion_sanitized_tests ${name})
  endif()
endfunction()

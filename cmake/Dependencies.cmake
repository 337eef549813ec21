# Every third-party dependency comes from a Debian package (scripts/install-deps).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus REQUIRED)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.4)
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)

# cereal is header-only and lives in /usr/include.
add_library(bastion_cereal INTERFACE)
target_compile_definitions(bastion_cereal INTERFACE CEREAL_THREAD_SAFE=0)

if(BASTION_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BASTION_BENCH)
  find_package(benchmark REQUIRED)
endif()

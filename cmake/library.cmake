# libcronkit.a: cronkit as a library, for a cronkit of your own (include/cronkit/cronkit.h:
# Registry, run()). Every module's objects in one archive, so that an embedder links one
# library: cronkit::cronkit, from find_package(cronkit) or pkg-config's cronkit.pc.
#
# Static, not shared: the C++ interface is young and promises no ABI between versions, and
# a static library gives an embedder one self-contained program, as cronkit itself is. The
# libraries it uses (SQLite, libpq, libcurl, OpenSSL, spdlog, yaml-cpp, libsystemd, Boost.JSON) are
# the system's shared ones, found again by cronkitConfig.cmake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
# The same packages the modules find, here in scope; cronkitConfig.cmake finds them again.
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(Threads REQUIRED)
find_package(CURL 7.85 REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(spdlog REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

set(cronkit_modules cronkit_app cronkit_api cronkit_client cronkit_web cronkit_engine cronkit_notify
                    cronkit_store cronkit_core cronkit_cron)
add_library(cronkit_library STATIC)
add_library(cronkit::cronkit ALIAS cronkit_library)
foreach(module IN LISTS cronkit_modules)
  target_sources(cronkit_library PRIVATE $<TARGET_OBJECTS:${module}>)
endforeach()
set_target_properties(cronkit_library PROPERTIES OUTPUT_NAME cronkit EXPORT_NAME cronkit)
target_include_directories(cronkit_library PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(cronkit_library PUBLIC cxx_std_20)
# What the modules use, in the order a static link needs. The headers use Boost.JSON.
target_link_libraries(cronkit_library
  PUBLIC Boost::headers Boost::json
  PRIVATE spdlog::spdlog yaml-cpp CURL::libcurl OpenSSL::Crypto SQLite::SQLite3 PostgreSQL::PostgreSQL
          PkgConfig::SYSTEMD Threads::Threads)

install(TARGETS cronkit_library EXPORT cronkitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY include/cronkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cronkit)
install(EXPORT cronkitTargets NAMESPACE cronkit:: DESTINATION ${cmake_dir} COMPONENT dev)
configure_package_config_file(cmake/cronkitConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/cronkitConfig.cmake
                              INSTALL_DESTINATION ${cmake_dir})
# Versions with the same major and minor are compatible (0.x: a minor may break).
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cronkitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cronkitConfig.cmake ${CMAKE_BINARY_DIR}/cronkitConfigVersion.cmake
        DESTINATION ${cmake_dir} COMPONENT dev)
file(RELATIVE_PATH pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/cronkit.pc.in ${CMAKE_BINARY_DIR}/cronkit.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/cronkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

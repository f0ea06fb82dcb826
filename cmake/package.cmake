# Installing the server, and its Debian package (scripts/package.sh runs cpack in the
# release build). CPack's DEB generator, not dpkg-buildpackage: the build already is CMake's,
# and CPack gives what the package needs from it — dpkg-shlibdeps for Depends, a -dbgsym
# package of the detached debug symbols, control files — without a second build system.
include(GNUInstallDirs)
set(CRONKIT_PACKAGE_MAINTAINER "cronkit authors <packages@cronkit.dev>"
    CACHE STRING "The Maintainer of the Debian package, and of its changelog entry.")

# The man page and the changelog, made from the program (cmake/debian_files.cmake).
set(debian_dir ${CMAKE_BINARY_DIR}/debian)
add_custom_command(
  OUTPUT ${debian_dir}/cronkit.1.gz ${debian_dir}/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${debian_dir}
  COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:cronkit> -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT_DIR=${debian_dir} "-DMAINTAINER=${CRONKIT_PACKAGE_MAINTAINER}" -P ${PROJECT_SOURCE_DIR}/cmake/debian_files.cmake
  DEPENDS cronkit ${PROJECT_SOURCE_DIR}/cmake/debian_files.cmake
          ${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in
  COMMENT "Writing the man page and the changelog"
  VERBATIM)
add_custom_target(cronkit_debian_files ALL DEPENDS ${debian_dir}/cronkit.1.gz
                                                   ${debian_dir}/changelog.gz)

install(TARGETS cronkit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES ${debian_dir}/cronkit.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT server)
install(FILES ${debian_dir}/changelog.gz packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/cronkit COMPONENT server)
install(FILES ${debian_dir}/changelog.gz packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/libcronkit-dev COMPONENT dev)
# Absolute: where Debian keeps them, whatever the prefix.
install(FILES packaging/cronkit.toml DESTINATION /etc/cronkit COMPONENT server)
install(FILES packaging/cronkit.service DESTINATION /lib/systemd/system COMPONENT server)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cronkit)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${CRONKIT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # cronkit_0.1.0_amd64.deb
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME cronkit)
set(CPACK_DEBIAN_SERVER_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst creates the system user.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_SERVER_DEBUGINFO_PACKAGE ON)  # cronkit-dbgsym, the debug symbols
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
    "scheduled-task server with a REST API and an admin UI
cronkit runs tasks on cron schedules (seconds, L, W and # fields, time
zones and daylight saving time): C++ functions, HTTP requests and
programs, with retries, timeouts, overlap policies and catch-up. Every
firing is stored before it runs, in SQLite or in PostgreSQL shared by
several servers. A REST API, live events, Prometheus metrics and an
admin UI are built in. This package runs it as a systemd service.")
# libcronkit-dev: the static library, its headers, find_package(cronkit) and cronkit.pc
# (cmake/library.cmake). A static archive has no shared-library dependencies for
# dpkg-shlibdeps to find; an embedder links the libraries below, so it needs their -dev
# packages, listed by hand: those cronkitConfig.cmake finds.
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libcronkit-dev)
set(CPACK_DEBIAN_DEV_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "libboost-json1.81-dev, libsqlite3-dev, libpq-dev, libcurl4-openssl-dev | libcurl-dev, \
libssl-dev, libspdlog-dev, libyaml-cpp-dev, libsystemd-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "scheduled-task server as a C++ library (static)
libcronkit is cronkit as a library: a program of your own that registers
C++ functions for function tasks and runs the whole server around them
(cronkit::Registry, cronkit::run). This package holds libcronkit.a, its
headers, a CMake package (find_package(cronkit), target cronkit::cronkit)
and cronkit.pc for pkg-config.")
include(CPack)

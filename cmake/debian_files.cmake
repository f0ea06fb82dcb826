# Writes the files the Debian package carries besides the program, in OUTPUT_DIR:
# cronkit.1.gz (the man page, by help2man from the program's --help, serve's options
# included) and changelog.gz (its one entry naming the version and commit the program
# reports). Run at build time, after the program is linked.
#   cmake -DPROGRAM=... -DSOURCE_DIR=... -DOUTPUT_DIR=... -P debian_files.cmake
find_program(HELP2MAN help2man REQUIRED)
find_program(GZIP gzip REQUIRED)

execute_process(COMMAND "${PROGRAM}" --version OUTPUT_VARIABLE described
                OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
# "cronkit 0.1.0 (commit 0123456789ab)"
string(REGEX MATCH "^cronkit ([^ ]+)( \\(commit ([^)]+)\\))?$" matched "${described}")
if(NOT matched)
  message(FATAL_ERROR "unexpected --version: ${described}")
endif()
set(VERSION "${CMAKE_MATCH_1}")
set(COMMIT "${CMAKE_MATCH_3}")
if(COMMIT STREQUAL "")
  set(COMMIT "unknown")
endif()

# serve's options are most of what an operator looks up: a section of their own.
execute_process(COMMAND "${PROGRAM}" serve --help OUTPUT_VARIABLE serve_help
                COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\\" "\\\\" serve_help "${serve_help}")
file(WRITE "${OUTPUT_DIR}/cronkit.h2m"
     "[SERVE OPTIONS]\n.nf\n${serve_help}\n.fi\n"
     "[FILES]\n.TP\n/etc/cronkit/cronkit.toml\nthe settings of \\fBcronkit serve\\fR: each key "
     "an option's long name; the command line and the environment take precedence.\n"
     ".TP\n/var/lib/cronkit/cronkit.db\nthe SQLite database of the packaged service.\n"
     "[SEE ALSO]\n\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1); the service is cronkit.service.\n")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --section=1 --name "a scheduled-task server"
          --include "${OUTPUT_DIR}/cronkit.h2m" --output "${OUTPUT_DIR}/cronkit.1" "${PROGRAM}"
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${GZIP}" -9nf "${OUTPUT_DIR}/cronkit.1" COMMAND_ERROR_IS_FATAL ANY)

string(TIMESTAMP DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file("${SOURCE_DIR}/packaging/debian/changelog.in" "${OUTPUT_DIR}/changelog" @ONLY)
execute_process(COMMAND "${GZIP}" -9nf "${OUTPUT_DIR}/changelog" COMMAND_ERROR_IS_FATAL ANY)

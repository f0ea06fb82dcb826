# Writes OUTPUT: a C++ source defining `std::string_view NAMESPACE::FUNCTION()` that returns
# the text of INPUT. Run at build time, so editing INPUT rebuilds it.
#   cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=... -DFUNCTION=... -P embed_text.cmake
file(READ "${INPUT}" text)
set(body "// Generated from ${INPUT} by embed_text.cmake. Do not edit.\n")
string(APPEND body "#include <string_view>\n\nnamespace ${NAMESPACE} {\n\n")
string(APPEND body "std::string_view ${FUNCTION}() {\n")
string(APPEND body "  static constexpr std::string_view text = R\"cronkit_text(${text})cronkit_text\";\n")
string(APPEND body "  return text;\n}\n\n}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

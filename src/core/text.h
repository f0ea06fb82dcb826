#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cronkit {

/// The length of the well-formed UTF-8 sequence that starts at s[i] (1 to 4), or 0 if none
/// does: a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short.
std::size_t utf8_sequence(std::string_view s, std::size_t i);

/// How many characters `s` holds, counting the bytes that begin one (for text already
/// checked to be UTF-8).
std::size_t utf8_length(std::string_view s);

/// True if `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

/// `s` made fit to store and to send as JSON text: each byte that does not belong to a
/// well-formed UTF-8 sequence, and each NUL, becomes U+FFFD. For text from outside — an
/// HTTP answer's body, a program's output — which may be binary: PostgreSQL's text type
/// refuses both, and JSON must be UTF-8.
std::string printable_utf8(std::string_view s);

/// True if `a` and `b` are equal ignoring the case of ASCII letters (header names).
bool iequals(std::string_view a, std::string_view b);

}  // namespace cronkit

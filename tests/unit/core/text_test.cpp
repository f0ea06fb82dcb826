// Text from outside: UTF-8 checked, and made fit to store and to send.
#include "core/text.h"

#include <gtest/gtest.h>

namespace cronkit {
namespace {

TEST(Text, Utf8IsCheckedByTheStandardsRules) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));                             // overlong /
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));                         // overlong /
  EXPECT_FALSE(valid_utf8("\xED\xBF\xBF"));                         // a surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));                     // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xC3"));                                 // cut short
  EXPECT_FALSE(valid_utf8("\x80"));                                 // a lone continuation
  EXPECT_FALSE(valid_utf8("\xFF"));
}

TEST(Text, PrintableUtf8KeepsWellFormedTextAsItIs) {
  EXPECT_EQ(printable_utf8(""), "");
  EXPECT_EQ(printable_utf8("exit 0\n\ttab"), "exit 0\n\ttab");
  EXPECT_EQ(printable_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(Text, PrintableUtf8ReplacesEachBadByteAndNul) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(printable_utf8(std::string_view{"a\0b", 3}), "a" + r + "b");
  EXPECT_EQ(printable_utf8("\xFF\xFE"), r + r);
  EXPECT_EQ(printable_utf8("\xC0\xAF"), r + r);   // overlong: both bytes
  EXPECT_EQ(printable_utf8("ok\xC3"), "ok" + r);  // cut short at the end
  EXPECT_EQ(printable_utf8("\xC3(x"), r + "(x");  // a lead byte without its continuation
  EXPECT_EQ(printable_utf8("\x80\xC3\xA9"), r + "\xC3\xA9");
  EXPECT_TRUE(valid_utf8(printable_utf8("\xED\xA0\x80\xF4\x90\x80\x80")));
}

}  // namespace
}  // namespace cronkit

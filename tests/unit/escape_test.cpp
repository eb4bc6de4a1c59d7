// Network text on its way to a log line: one line, no terminal control, bounded length.
#include <gtest/gtest.h>

#include "util/escape.hpp"

using quictun::escape_for_log;

TEST(EscapeForLog, PrintableAsciiIsKept) {
  EXPECT_EQ(escape_for_log("tcp:10.0.0.5:22"), "tcp:10.0.0.5:22");
  EXPECT_EQ(escape_for_log(""), "");
}

TEST(EscapeForLog, LineBreaksAndTabsBecomeTheirCEscapes) {
  EXPECT_EQ(escape_for_log("a\nb\rc\td"), "a\\nb\\rc\\td");
}

TEST(EscapeForLog, EscAndOtherControlBytesBecomeHex) {
  EXPECT_EQ(escape_for_log("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(escape_for_log(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_for_log("\x7f"), "\\x7f");
}

TEST(EscapeForLog, BytesAboveAsciiBecomeHex) {
  // 0x9b alone is CSI on terminals that honour C1 controls.
  EXPECT_EQ(escape_for_log("\x9b" "2J"), "\\x9b2J");
  EXPECT_EQ(escape_for_log("\xc3\xa9"), "\\xc3\\xa9");
}

TEST(EscapeForLog, QuotesAndBackslashesAreEscapedSoTheResultCanBeQuoted) {
  EXPECT_EQ(escape_for_log("say \"hi\" \\n"), "say \\\"hi\\\" \\\\n");
}

TEST(EscapeForLog, LongInputIsCutWithAMarkerSayingHowMuchWasLeftOut) {
  std::string long_text(600, 'a');
  EXPECT_EQ(escape_for_log(long_text), std::string(256, 'a') + "...[+344 bytes]");
  EXPECT_EQ(escape_for_log("abcdef", 3), "abc...[+3 bytes]");
  EXPECT_EQ(escape_for_log("abc", 3), "abc") << "exactly at the limit: nothing is cut";
}

TEST(EscapeForLog, ProseKeepsItsQuotesButNotItsControlBytes) {
  EXPECT_EQ(quictun::escape_controls_for_log("token \"a\\x0a\" is not listed\n\x1b[2J"),
            "token \"a\\x0a\" is not listed\\n\\x1b[2J");
}


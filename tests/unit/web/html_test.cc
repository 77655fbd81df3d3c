// HtmlEscape: the one escaping of the web page, for element text and for
// quoted attribute values alike.
#include "web/html.h"

#include <gtest/gtest.h>

namespace hephy {
namespace {

TEST(HtmlEscapeTest, EscapesMarkupCharactersInText) {
  EXPECT_EQ(HtmlEscape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("a & b"), "a &amp; b");
  EXPECT_EQ(HtmlEscape("&amp;"), "&amp;amp;");
}

TEST(HtmlEscapeTest, EscapesBothQuotesForAttributeValues) {
  // Neither a double- nor a single-quoted attribute can be left.
  EXPECT_EQ(HtmlEscape("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
  EXPECT_EQ(HtmlEscape("' onfocus='x"), "&#39; onfocus=&#39;x");
  const std::string attribute = "<a title=\"" + HtmlEscape("\"><img src=x>") + "\">";
  EXPECT_EQ(attribute.find('<', 1), std::string::npos) << attribute;
  EXPECT_EQ(std::count(attribute.begin(), attribute.end(), '"'), 2) << attribute;
}

TEST(HtmlEscapeTest, KeepsPlainTextAndUtf8AsTheyAre) {
  EXPECT_EQ(HtmlEscape("STEP 2/5: RUN make -j2"), "STEP 2/5: RUN make -j2");
  EXPECT_EQ(HtmlEscape("Grüße, 世界 🚀"), "Grüße, 世界 🚀");
  EXPECT_EQ(HtmlEscape("tab\there\nline\r"), "tab\there\nline\r");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(HtmlEscapeTest, DropsControlsAndReplacesBrokenUtf8) {
  // A terminal's colour codes and NULs in a log line do not reach the page.
  EXPECT_EQ(HtmlEscape("\x1b[31mred\x1b[0m"), "[31mred[0m");
  EXPECT_EQ(HtmlEscape(std::string("a\0b", 3)), "ab");
  EXPECT_EQ(HtmlEscape("a\x7f"), "a");
  // A lone continuation byte, a truncated sequence, an overlong '<', a
  // surrogate: each byte becomes U+FFFD, and no '<' comes out of them.
  EXPECT_EQ(HtmlEscape("\x80"), "\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEscape("\xE4\xB8"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEscape("\xC0\xBC"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(HtmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace hephy

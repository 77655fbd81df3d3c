// The one escaping of text that goes into the web page's HTML: every
// user-supplied string (app, unit, commit message, author, log line, error)
// passes through HtmlEscape before it meets markup. Its output is safe both
// as element text and inside a quoted attribute value ("..." or '...').
#pragma once

#include <string>
#include <string_view>

namespace hephy {

// `text` with & < > " ' replaced by their character references. Bytes that
// are not valid UTF-8 become U+FFFD, and C0 controls other than tab,
// newline and carriage return are dropped, so that a log line of binary
// junk cannot break the page's encoding.
std::string HtmlEscape(std::string_view text);

}  // namespace hephy

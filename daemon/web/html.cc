#include "web/html.h"

#include <cstdint>

namespace hephy {
namespace {

// The length of the valid UTF-8 sequence at the start of `text` (1 to 4),
// or 0 when it is not one: overlong forms, surrogates and code points past
// U+10FFFF are not valid.
size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t min = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, min = 0x80, code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, min = 0x800, code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, min = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  while (!text.empty()) {
    const char c = text.front();
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default: {
        const auto byte = static_cast<uint8_t>(c);
        if (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        if (byte == 0x7F) break;
        const size_t length = Utf8SequenceLength(text);
        if (length == 0) {
          out += "\xEF\xBF\xBD";  // U+FFFD
          text.remove_prefix(1);
          continue;
        }
        out.append(text.substr(0, length));
        text.remove_prefix(length);
        continue;
      }
    }
    text.remove_prefix(1);
  }
  return out;
}

}  // namespace hephy

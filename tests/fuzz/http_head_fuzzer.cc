// libFuzzer target: an HTTP/1 head as the egress proxy reads it, from
// buildah or from a server a Dockerfile names: its fields, the request's
// absolute URL and a redirect's Location.
#include "fuzz_input.h"
#include "net/http_head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = hephy::Text(data, size);
  const hephy::HttpHead head = hephy::ParseHttpHead(text);
  (void)head.ForwardedWith(head.start_line);
  if (const auto location = head.Field("Location")) (void)hephy::ParseAbsoluteUrl(*location);
  (void)hephy::ParseAbsoluteUrl(text);
  (void)hephy::ParseAuthority(text, "443");
  return 0;
}

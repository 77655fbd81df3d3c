#include "net/http_head.h"

#include <algorithm>
#include <cctype>

#include "util/ascii.h"

namespace hephy {
namespace {}  // namespace

std::optional<Authority> ParseAuthority(std::string_view text, std::string_view default_port) {
  Authority authority;
  std::string_view rest;
  if (text.starts_with("[")) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    authority.host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
  } else {
    const auto colon = text.find(':');
    authority.host = text.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (rest.empty()) {
    authority.port = default_port;
  } else {
    if (rest.front() != ':') return std::nullopt;
    authority.port = rest.substr(1);
  }
  const bool port_ok = !authority.port.empty() && authority.port.size() <= 5 &&
                       std::all_of(authority.port.begin(), authority.port.end(), ::isdigit) &&
                       std::stoi(authority.port) > 0 && std::stoi(authority.port) < 65536;
  const bool host_ok = !authority.host.empty() &&
                       std::none_of(authority.host.begin(), authority.host.end(), [](char c) {
                         return c == '@' || c == '/' || c <= ' ' || c > '~';
                       });
  if (!port_ok || !host_ok) return std::nullopt;
  return authority;
}

std::optional<AbsoluteUrl> ParseAbsoluteUrl(std::string_view text) {
  const auto colon = text.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string scheme = AsciiLower(text.substr(0, colon));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  text.remove_prefix(colon + 3);
  const auto end = text.find_first_of("/?#");
  auto authority = ParseAuthority(text.substr(0, end), scheme == "https" ? "443" : "80");
  if (!authority) return std::nullopt;
  std::string path(end == std::string_view::npos ? "/" : text.substr(end));
  if (std::any_of(path.begin(), path.end(), [](char c) { return c <= ' ' || c == 0x7f; })) {
    return std::nullopt;
  }
  if (path.front() != '/') path.insert(0, "/");
  return AbsoluteUrl{std::move(scheme), std::move(*authority), std::move(path)};
}

HttpHead ParseHttpHead(std::string_view text) {
  HttpHead head;
  size_t at = text.find("\r\n");
  head.start_line = text.substr(0, at);
  while (at != std::string_view::npos) {
    const size_t begin = at + 2;
    at = text.find("\r\n", begin);
    const std::string_view line =
        text.substr(begin, at == std::string_view::npos ? at : at - begin);
    const auto colon = line.find(':');
    // A field with a bare CR or LF or a NUL is not passed on: it could end
    // the head where the next hop does not expect it.
    if (line.empty() || colon == std::string_view::npos ||
        line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    head.fields.emplace_back(line.substr(0, colon), value);
  }
  return head;
}

std::string HttpHead::ForwardedWith(const std::string& start_line) const {
  std::string out = start_line + "\r\n";
  for (const auto& [name, value] : fields) {
    if (EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Keep-Alive") ||
        EqualsIgnoreCase(name, "Proxy-Connection") ||
        EqualsIgnoreCase(name, "Proxy-Authorization")) {
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  return out + "Connection: close\r\n\r\n";
}

std::optional<std::string> HttpHead::Field(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (EqualsIgnoreCase(field, name)) return value;
  }
  return std::nullopt;
}

}  // namespace hephy

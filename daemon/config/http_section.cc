// http: the HTTP server's address, connections, TLS, which endpoints
// answer without a token, and the address users reach it at.
#include "config/config_sections.h"

namespace hephy {

void ReadHttpSection(const ConfigReader& r, Node node, Key key, HttpConfig& http) {
  r.Map(node, key,
        {{"listen", [&](Node v, Key vk) { http.listen = r.Listen(v, vk); }},
         {"max_connections", [&](Node v, Key vk) { http.max_connections = r.PositiveInt(v, vk); }},
         {"tls_cert", [&](Node v, Key vk) { http.tls_cert = ExpandHome(r.Scalar(v, vk)); }},
         {"tls_key", [&](Node v, Key vk) { http.tls_key = ExpandHome(r.Scalar(v, vk)); }},
         {"trust_proxy", [&](Node v, Key vk) { http.trust_proxy = r.Bool(v, vk); }},
         {"public_url",
          [&](Node v, Key vk) {
            std::string url = r.Scalar(v, vk);
            const auto scheme = url.find("://");
            const std::string rest = scheme == std::string::npos ? "" : url.substr(scheme + 3);
            if ((!url.starts_with("http://") && !url.starts_with("https://")) || rest.empty() ||
                rest.front() == '/' || url.find_first_of(" \t\r\n?#\x1b") != std::string::npos) {
              r.Fail(v, vk,
                     "expected the address users reach hephyd's HTTP listener at, such as "
                     "https://builds.example.com, got '" +
                         url + "'");
            }
            while (url.ends_with('/')) url.pop_back();
            http.public_url = url;
          }},
         {"open_endpoints", [&](Node v, Key vk) {
            const std::string value = r.Scalar(v, vk);
            if (value == "loopback") {
              http.open_endpoints = OpenEndpoints::kLoopback;
            } else if (value == "any") {
              http.open_endpoints = OpenEndpoints::kAny;
            } else if (value == "none") {
              http.open_endpoints = OpenEndpoints::kNone;
            } else {
              r.Fail(v, vk, "expected loopback, any or none, got '" + value + "'");
            }
          }}});
}

}  // namespace hephy

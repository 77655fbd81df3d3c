// http: the HTTP server's address, connections, TLS, and which endpoints
// answer without a token.
#include "config/config_sections.h"

namespace hephy {

void ReadHttpSection(const ConfigReader& r, Node node, Key key, HttpConfig& http) {
  r.Map(node, key,
        {{"listen", [&](Node v, Key vk) { http.listen = r.Listen(v, vk); }},
         {"max_connections", [&](Node v, Key vk) { http.max_connections = r.PositiveInt(v, vk); }},
         {"tls_cert", [&](Node v, Key vk) { http.tls_cert = ExpandHome(r.Scalar(v, vk)); }},
         {"tls_key", [&](Node v, Key vk) { http.tls_key = ExpandHome(r.Scalar(v, vk)); }},
         {"trust_proxy", [&](Node v, Key vk) { http.trust_proxy = r.Bool(v, vk); }},
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

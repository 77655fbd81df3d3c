// http: the HTTP server's address, connections and which endpoints answer
// without a token.
#include "config/config_sections.h"

namespace hephy {

void ReadHttpSection(const ConfigReader& r, Node node, Key key, HttpConfig& http) {
  r.Map(node, key,
        {{"listen", [&](Node v, Key vk) { http.listen = r.Listen(v, vk); }},
         {"max_connections", [&](Node v, Key vk) { http.max_connections = r.PositiveInt(v, vk); }},
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

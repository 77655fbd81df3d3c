// registry: where images go, how hephyd reaches it, and its credentials.
#include "config/config_sections.h"
#include "hephy/error.h"
#include "net/http_connection.h"
#include "util/duration.h"

namespace hephy {

void ReadRegistrySection(const ConfigReader& r, Node node, Key key, RegistryConfig& reg,
                         std::optional<YAML::Node>& insecure_node) {
  r.Map(
      node, key,
      {{"url",
        [&](Node v, Key vk) {
          reg.url = r.Scalar(v, vk);
          try {
            ParseHostPort(reg.url, 443);
          } catch (const Error& e) {
            r.Fail(v, vk, e.what());
          }
        }},
       {"repository",
        [&](Node v, Key vk) {
          reg.repository = r.Scalar(v, vk);
          if (reg.repository.empty()) r.Fail(v, vk, "must not be empty");
        }},
       {"insecure",
        [&](Node v, Key vk) {
          reg.insecure = r.Bool(v, vk);
          insecure_node = v;
        }},
       {"embedded", [&](Node v, Key vk) { reg.embedded = r.Bool(v, vk); }},
       {"ca_file", [&](Node v, Key vk) { reg.ca_file = ExpandHome(r.Scalar(v, vk)); }},
       {"docker_config", [&](Node v, Key vk) { reg.docker_config = ExpandHome(r.Scalar(v, vk)); }},
       {"retry", [&](Node v, Key vk) {
          r.Map(v, vk,
                {{"attempts", [&](Node a, Key ak) { reg.retry.attempts = r.PositiveInt(a, ak); }},
                 {"max_time", [&](Node t, Key tk) {
                    try {
                      reg.retry.max_time = ParseDuration(r.Scalar(t, tk));
                    } catch (const Error& e) {
                      r.Fail(t, tk, e.what());
                    }
                  }}});
        }}});
}

}  // namespace hephy

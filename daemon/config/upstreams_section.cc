// upstreams: the credentials and host keys upstream_repo URLs are fetched
// with.
#include <algorithm>
#include <cctype>

#include "config/config_sections.h"

namespace hephy {
namespace {

bool IsEnvironmentName(const std::string& name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         });
}

}  // namespace

void ReadUpstreamsSection(const ConfigReader& r, Node node, Key key, UpstreamsConfig& u) {
  r.Map(node, key,
        {{"credentials_file",
          [&](Node v, Key vk) {
            u.credentials_file = ExpandHome(r.Scalar(v, vk));
            if (u.credentials_file.empty()) r.Fail(v, vk, "must not be empty");
          }},
         {"token_env",
          [&](Node v, Key vk) {
            u.token_env = r.Scalar(v, vk);
            if (!u.token_env.empty() && !IsEnvironmentName(u.token_env)) {
              r.Fail(v, vk,
                     "invalid environment variable name '" + u.token_env +
                         "' (expected letters, digits and _, not starting with a digit)");
            }
          }},
         {"ssh_key", [&](Node v, Key vk) { u.ssh_key = ExpandHome(r.Scalar(v, vk)); }},
         {"known_hosts", [&](Node v, Key vk) { u.known_hosts = ExpandHome(r.Scalar(v, vk)); }},
         {"allow_local", [&](Node v, Key vk) { u.allow_local = r.Bool(v, vk); }}});
}

}  // namespace hephy

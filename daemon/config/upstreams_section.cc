// upstreams: the credentials and host keys upstream_repo URLs are fetched
// with.
#include <algorithm>
#include <cctype>

#include "config/config_sections.h"
#include "hephy/error.h"
#include "net/egress_policy.h"

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
         {"token_hosts", [&](Node v, Key vk) { u.token_hosts = r.StringList(v, vk); }},
         {"ssh_key", [&](Node v, Key vk) { u.ssh_key = ExpandHome(r.Scalar(v, vk)); }},
         {"known_hosts", [&](Node v, Key vk) { u.known_hosts = ExpandHome(r.Scalar(v, vk)); }},
         {"allow_local", [&](Node v, Key vk) { u.allow_local = r.Bool(v, vk); }},
         {"timeout", [&](Node v, Key vk) { u.timeout = r.Duration(v, vk); }},
         {"allow_hosts", [&](Node v, Key vk) {
            u.allow_hosts = r.StringList(v, vk);
            try {
              EgressPolicy check(u.allow_hosts);
            } catch (const Error& e) {
              r.Fail(v, vk, e.what());
            }
          }}});
  // A pusher names the hosts: the token goes only where the admin said.
  if (!u.token_env.empty() && u.token_hosts.empty()) {
    r.Fail(node, key,
           "token_env needs token_hosts: the hosts that may receive $" + u.token_env +
               " (any https host a build-config.yaml names would ask for it otherwise)");
  }
}

}  // namespace hephy

// ssh: the SSH front's address and limits.
#include "config/config_sections.h"
#include "hephy/error.h"
#include "util/ssh_algorithms.h"

namespace hephy {

void ReadSshSection(const ConfigReader& r, Node node, Key key, SshConfig& ssh) {
  const auto algorithms = [&](SshAlgorithmKind kind, std::vector<std::string>& into) {
    return [&r, kind, &into](Node v, Key vk) {
      try {
        into = ParseSshAlgorithms(kind, r.Scalar(v, vk));
      } catch (const Error& e) {
        r.Fail(v, vk, e.what());
      }
    };
  };
  r.Map(node, key,
        {{"kex", algorithms(SshAlgorithmKind::kKex, ssh.kex)},
         {"ciphers", algorithms(SshAlgorithmKind::kCipher, ssh.ciphers)},
         {"macs", algorithms(SshAlgorithmKind::kMac, ssh.macs)},
         {"listen", [&](Node v, Key vk) { ssh.listen = r.Listen(v, vk); }},
         {"max_sessions", [&](Node v, Key vk) { ssh.max_sessions = r.PositiveInt(v, vk); }},
         {"max_startups", [&](Node v, Key vk) { ssh.max_startups = r.PositiveInt(v, vk); }},
         {"max_startups_per_address",
          [&](Node v, Key vk) { ssh.max_startups_per_address = r.PositiveInt(v, vk); }},
         {"idle_timeout", [&](Node v, Key vk) { ssh.idle_timeout = r.Duration(v, vk, "never"); }},
         {"max_pushes_per_user",
          [&](Node v, Key vk) { ssh.max_pushes_per_user = r.NonNegativeInt(v, vk, "no limit"); }},
         {"auth_failures", [&](Node v, Key vk) {
            auto& f = ssh.auth_failures;
            r.Map(v, vk,
                  {{"limit",
                    [&](Node w, Key wk) {
                      f.limit = r.NonNegativeInt(w, wk, "no limit");
                      // Each address keeps the times of its last failures.
                      if (f.limit > 1000) r.Fail(w, wk, "must be at most 1000");
                    }},
                   {"window", [&](Node w, Key wk) { f.window = r.Duration(w, wk); }},
                   {"block", [&](Node w, Key wk) { f.block = r.Duration(w, wk); }}});
          }}});
}

}  // namespace hephy

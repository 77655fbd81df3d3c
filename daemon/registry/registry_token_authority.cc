#include "registry/registry_token_authority.h"

#include <openssl/crypto.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "util/hex.h"

namespace hephy {
namespace {

constexpr char kServiceUser[] = "@hephyd";
constexpr char kBuildUserPrefix[] = "@build-";

// Compares secrets in time that does not depend on where they differ.
bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Rfc3339(time_t when) {
  tm utc{};
  gmtime_r(&when, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

RegistryTokenAuthority::RegistryTokenAuthority(const std::filesystem::path& dir)
    : signer_(dir), service_{.username = kServiceUser, .password = RandomHex(32)} {}

RegistryTokenAuthority::BuildPass::BuildPass(BuildPass&& other) noexcept
    : authority_(std::exchange(other.authority_, nullptr)),
      credentials_(std::move(other.credentials_)) {}

RegistryTokenAuthority::BuildPass::~BuildPass() {
  if (authority_ != nullptr) authority_->Release(credentials_.username);
}

RegistryTokenAuthority::BuildPass RegistryTokenAuthority::AdmitBuild(
    const std::string& app, const std::optional<std::string>& user) {
  RegistryCredentials credentials{.password = RandomHex(32)};
  std::lock_guard lock(mutex_);
  credentials.username = kBuildUserPrefix + std::to_string(next_build_++);
  builds_[credentials.username] = {
      credentials.password, {.kind = RegistryPrincipal::Kind::kBuild, .app = app, .user = user}};
  return BuildPass(this, std::move(credentials));
}

void RegistryTokenAuthority::Release(const std::string& username) {
  std::lock_guard lock(mutex_);
  builds_.erase(username);
}

std::optional<RegistryPrincipal> RegistryTokenAuthority::Authenticate(
    std::string_view username, std::string_view password) const {
  if (username == service_.username) {
    if (!SameSecret(password, service_.password)) return std::nullopt;
    return RegistryPrincipal{.kind = RegistryPrincipal::Kind::kService};
  }
  std::lock_guard lock(mutex_);
  const auto build = builds_.find(username);
  if (build == builds_.end() || !SameSecret(password, build->second.password)) return std::nullopt;
  return build->second.principal;
}

RegistryTokenAuthority::Token RegistryTokenAuthority::Issue(
    const std::string& subject, const std::vector<RegistryGrant>& access) const {
  const time_t now = std::time(nullptr);
  auto claims_access = nlohmann::json::array();
  for (const auto& grant : access) {
    claims_access.push_back(
        {{"type", grant.type}, {"name", grant.name}, {"actions", grant.actions}});
  }
  const nlohmann::json claims = {{"iss", kIssuer},       {"sub", subject},
                                 {"aud", kService},      {"iat", now},
                                 {"nbf", now},           {"exp", now + kLifetime.count()},
                                 {"jti", RandomHex(16)}, {"access", claims_access}};
  return {.jwt = signer_.Sign(claims),
          .issued_at = Rfc3339(now),
          .expires_in = static_cast<int>(kLifetime.count())};
}

}  // namespace hephy

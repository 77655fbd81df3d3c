#include "api/transport_security.h"

#include "net/http_connection.h"

namespace hephy {

std::string SchemeOf(const Config& config, const HttpServerRequest& request) {
  if (!config.http.tls_cert.empty()) return "https";
  if (config.http.trust_proxy && request.Header("x-forwarded-proto") == "https") return "https";
  return "http";
}

std::optional<std::string> CredentialsRefusal(const Config& config,
                                              const HttpServerRequest& request) {
  if (SchemeOf(config, request) == "https") return std::nullopt;
  if (config.http.trust_proxy) {
    return "credentials are taken over HTTPS only, and the proxy in front of hephyd "
           "(http.trust_proxy) says this request came over plain HTTP; use an https:// URL";
  }
  if (IsLoopbackHost(config.http.listen.host)) return std::nullopt;
  return "credentials are taken over HTTPS only, and http.listen " + config.http.listen.ToString() +
         " serves plain HTTP beyond this machine; set http.tls_cert and http.tls_key, or put a "
         "TLS-terminating proxy in front and set http.trust_proxy";
}

}  // namespace hephy

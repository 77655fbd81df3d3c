// Whether a request came over a channel fit for credentials. hephyd's
// listener speaks HTTPS when http.tls_cert and http.tls_key are set; behind
// a TLS-terminating proxy (http.trust_proxy), the proxy's X-Forwarded-Proto
// says what the client spoke. Plain HTTP is fit only on a loopback listener,
// where nothing leaves the machine.
#pragma once

#include <optional>
#include <string>

#include "api/http_server.h"
#include "hephy/config.h"

namespace hephy {

// "https" over the listener's TLS, or through a trusted proxy that says so;
// else "http".
std::string SchemeOf(const Config& config, const HttpServerRequest& request);

// Why the request's credentials are not to be taken (for the client, without
// "hephyd: "), or nullopt when they may be.
std::optional<std::string> CredentialsRefusal(const Config& config,
                                              const HttpServerRequest& request);

}  // namespace hephy

// What both of hephyd's HTTP clients (the registry's, the Kubernetes API's)
// say when TLS or a deadline fails them, in the same words.
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>

namespace hephy {

// OpenSSL's reason for `ec` ("certificate verify failed"), without the
// library's "(SSL routines)" suffix; else the error's own message.
std::string SslReason(const boost::system::error_code& ec);

// Why a TLS handshake on `ssl` failed: the certificate check's own reason
// when that is what failed ("certificate verify failed (self-signed
// certificate)"), a server that hung up, else OpenSSL's reason.
std::string HandshakeFailure(const boost::system::error_code& ec, SSL* ssl);

// Whether `host` is an IP address: its certificate is then checked for the
// address, and no SNI is sent.
bool IsIpAddress(const std::string& host);

// "30 s", "500 ms": a timeout in an error message.
std::string TimeoutText(std::chrono::milliseconds timeout);

}  // namespace hephy

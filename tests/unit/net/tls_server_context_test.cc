#include "net/tls_server_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "error_of.h"
#include "test_ca.h"
#include "test_dir.h"
#include "util/process.h"

namespace hephy {
namespace {

namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;

struct ClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string ciphers;  // TLS 1.2 and below; empty: OpenSSL's default
};

// What one handshake came to, as each side saw it.
struct Handshake {
  boost::system::error_code client;
  boost::system::error_code server;
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string alpn;
  std::string subject;  // of the certificate the client was shown
  std::string serial;
  int chain_length = 0;  // certificates the server sent
};

std::string SerialOf(X509* certificate) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
  char* hex = BN_bn2hex(number);
  std::string serial = hex;
  OPENSSL_free(hex);
  BN_free(number);
  return serial;
}

// One TLS handshake on 127.0.0.1 between a server using `context` and a
// client that trusts `ca` and offers ALPN h2 and http/1.1.
Handshake Connect(const std::shared_ptr<net::ssl::context>& context, const fs::path& ca,
                  const ClientOptions& options = {}) {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  net::ssl::stream<tcp::socket> server(io, *context);

  net::ssl::context client_context(net::ssl::context::tls_client);
  SSL_CTX* native = client_context.native_handle();
  SSL_CTX_set_min_proto_version(native, options.min_version);
  SSL_CTX_set_max_proto_version(native, options.max_version);
  if (!options.ciphers.empty()) {
    EXPECT_EQ(SSL_CTX_set_cipher_list(native, options.ciphers.c_str()), 1);
  }
  static const unsigned char kAlpn[] = "\x02h2\x08http/1.1";
  SSL_CTX_set_alpn_protos(native, kAlpn, sizeof kAlpn - 1);
  client_context.load_verify_file(ca.string());
  client_context.set_verify_mode(net::ssl::verify_peer);
  net::ssl::stream<tcp::socket> client(io, client_context);

  Handshake h;
  acceptor.async_accept(server.next_layer(), [&](boost::system::error_code ec) {
    if (ec) {
      h.server = ec;
      return;
    }
    server.async_handshake(net::ssl::stream_base::server,
                           [&](boost::system::error_code e) { h.server = e; });
  });
  client.next_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
    if (ec) {
      h.client = ec;
      return;
    }
    client.async_handshake(net::ssl::stream_base::client,
                           [&](boost::system::error_code e) { h.client = e; });
  });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(io.stopped()) << "the handshake did not finish";
  if (!h.client) {
    SSL* ssl = client.native_handle();
    h.version = SSL_get_version(ssl);
    h.cipher = SSL_get_cipher_name(ssl);
    const unsigned char* alpn = nullptr;
    unsigned int alpn_size = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_size);
    h.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_size);
    X509* peer = SSL_get0_peer_certificate(ssl);
    char line[256];
    X509_NAME_oneline(X509_get_subject_name(peer), line, sizeof line);
    h.subject = line;
    h.serial = SerialOf(peer);
    h.chain_length = sk_X509_num(SSL_get_peer_cert_chain(ssl));
  }
  return h;
}

// A test CA, and the files http.tls_cert and http.tls_key name.
class TlsServerContextTest : public ::testing::Test {
 protected:
  TlsServerContextTest() : ca_(dir_.path() / "ca") {}

  // Issues `name` (for 127.0.0.1 and localhost) and copies it to cert()
  // and key(), as an admin replacing the files would.
  void Install(const std::string& name) {
    const TestCa::Issued issued = ca_.IssueLocal(name);
    fs::copy_file(issued.certificate, cert(), fs::copy_options::overwrite_existing);
    fs::copy_file(issued.key, key(), fs::copy_options::overwrite_existing);
  }

  fs::path cert() const { return dir_.path() / "server.crt"; }
  fs::path key() const { return dir_.path() / "server.key"; }
  fs::path ca() const { return ca_.certificate(); }

  void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  TestDir dir_;
  TestCa ca_;
};

TEST_F(TlsServerContextTest, ServesTls13WithHttp11Alpn) {
  Install("first");
  TlsServerContext tls(cert(), key());
  const Handshake h = Connect(tls.Current(), ca());
  ASSERT_FALSE(h.client) << h.client.message();
  EXPECT_FALSE(h.server) << h.server.message();
  EXPECT_EQ(h.version, "TLSv1.3");
  EXPECT_EQ(h.alpn, "http/1.1");
  EXPECT_EQ(h.subject, "/CN=first");
  EXPECT_EQ(tls.Certificate().subject, "CN=first");
  EXPECT_EQ(tls.Certificate().serial, h.serial);
  EXPECT_FALSE(tls.Certificate().expired);
}

TEST_F(TlsServerContextTest, ServesTls12WithAeadInItsOwnOrder) {
  Install("first");
  TlsServerContext tls(cert(), key());
  // OpenSSL's default list puts AES-256 first; the server's order wins.
  const Handshake h = Connect(tls.Current(), ca(), {.max_version = TLS1_2_VERSION});
  ASSERT_FALSE(h.client) << h.client.message();
  EXPECT_EQ(h.version, "TLSv1.2");
  EXPECT_EQ(h.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");

  const Handshake chacha =
      Connect(tls.Current(), ca(),
              {.max_version = TLS1_2_VERSION, .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305"});
  ASSERT_FALSE(chacha.client) << chacha.client.message();
  EXPECT_EQ(chacha.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(TlsServerContextTest, RefusesTls11) {
  Install("first");
  TlsServerContext tls(cert(), key());
  // OpenSSL 3 offers TLS 1.1 only at security level 0.
  const Handshake h = Connect(tls.Current(), ca(),
                              {.min_version = TLS1_1_VERSION,
                               .max_version = TLS1_1_VERSION,
                               .ciphers = "DEFAULT:@SECLEVEL=0"});
  EXPECT_TRUE(h.client);
  // The server saw the client's hello and turned its version down.
  EXPECT_NE(h.server.message().find("unsupported protocol"), std::string::npos)
      << h.server.message();
}

TEST_F(TlsServerContextTest, RefusesTls12WithCbcCiphersOnly) {
  Install("first");
  TlsServerContext tls(cert(), key());
  const Handshake h = Connect(tls.Current(), ca(),
                              {.max_version = TLS1_2_VERSION,
                               .ciphers = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"
                                          "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"});
  EXPECT_TRUE(h.client);
  EXPECT_NE(h.server.message().find("no shared cipher"), std::string::npos) << h.server.message();
}

TEST_F(TlsServerContextTest, ServesTheChainOfTheCertificateFile) {
  Install("first");
  std::ifstream leaf(cert()), ca_pem(ca());
  std::stringstream chain;
  chain << leaf.rdbuf() << ca_pem.rdbuf();
  Write(cert(), chain.str());
  TlsServerContext tls(cert(), key());
  const Handshake h = Connect(tls.Current(), ca());
  ASSERT_FALSE(h.client) << h.client.message();
  EXPECT_EQ(h.subject, "/CN=first");
  EXPECT_EQ(h.chain_length, 2);
}

TEST_F(TlsServerContextTest, TurnsOffCompressionAndRenegotiation) {
  Install("first");
  TlsServerContext tls(cert(), key());
  const uint64_t options = SSL_CTX_get_options(tls.Current()->native_handle());
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(tls.Current()->native_handle()), TLS1_2_VERSION);
}

TEST_F(TlsServerContextTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  Install("first");
  TlsServerContext tls(cert(), key());
  const auto before = tls.Current();
  const std::string first_serial = Connect(before, ca()).serial;

  Install("second");
  tls.Reload();
  const Handshake after = Connect(tls.Current(), ca());
  ASSERT_FALSE(after.client) << after.client.message();
  EXPECT_EQ(after.subject, "/CN=second");
  EXPECT_EQ(after.serial, tls.Certificate().serial);
  EXPECT_NE(after.serial, first_serial);
  // A connection that started before keeps the context it had.
  EXPECT_EQ(Connect(before, ca()).subject, "/CN=first");
}

TEST_F(TlsServerContextTest, FailedReloadKeepsTheContextInUse) {
  Install("first");
  TlsServerContext tls(cert(), key());
  const auto before = tls.Current();

  Write(cert(), "not a certificate\n");
  EXPECT_EQ(ErrorOf([&] { tls.Reload(); }),
            "TLS certificate " + cert().string() + ": no PEM certificate in it");
  EXPECT_EQ(tls.Current(), before);

  // Half of a replacement: the new certificate, the old key.
  const TestCa::Issued second = ca_.Issue("second", {"IP:127.0.0.1"});
  fs::copy_file(second.certificate, cert(), fs::copy_options::overwrite_existing);
  EXPECT_EQ(ErrorOf([&] { tls.Reload(); }),
            "TLS key " + key().string() + " does not match the certificate in " + cert().string());
  EXPECT_EQ(tls.Current(), before);
  EXPECT_EQ(tls.Certificate().subject, "CN=first");
  EXPECT_EQ(Connect(tls.Current(), ca()).subject, "/CN=first");
}

TEST_F(TlsServerContextTest, NamesAMissingFile) {
  Install("first");
  EXPECT_EQ(ErrorOf([&] { TlsServerContext(dir_.path() / "none.crt", key()); }),
            "TLS certificate " + (dir_.path() / "none.crt").string() + ": no such file");
  EXPECT_EQ(ErrorOf([&] { TlsServerContext(cert(), dir_.path() / "none.key"); }),
            "TLS key " + (dir_.path() / "none.key").string() + ": no such file");
}

TEST_F(TlsServerContextTest, NamesAFileThatIsNotPem) {
  Install("first");
  // The key where the certificate belongs, and the other way round.
  EXPECT_EQ(ErrorOf([&] { TlsServerContext(key(), key()); }),
            "TLS certificate " + key().string() + ": no PEM certificate in it");
  EXPECT_EQ(ErrorOf([&] { TlsServerContext(cert(), cert()); }),
            "TLS key " + cert().string() + ": not a PEM private key");
  Write(dir_.path() / "broken.crt",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_TRUE(ErrorOf([&] { TlsServerContext(dir_.path() / "broken.crt", key()); })
                  .starts_with("TLS certificate " + (dir_.path() / "broken.crt").string() +
                               ": not a PEM certificate: "));
}

TEST_F(TlsServerContextTest, RefusesAnEncryptedKeyWithoutAsking) {
  Install("first");
  const fs::path encrypted = dir_.path() / "encrypted.key";
  const RunResult r = hephy::Run({.argv = {"openssl", "pkey", "-in", key().string(), "-aes256",
                                           "-passout", "pass:secret", "-out", encrypted.string()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ErrorOf([&] { TlsServerContext(cert(), encrypted); }),
            "TLS key " + encrypted.string() +
                ": the key is encrypted; hephyd needs it without a passphrase");
}

TEST_F(TlsServerContextTest, ServesAnExpiredCertificateAndSaysSo) {
  // openssl 3.0's command line cannot date a certificate in the past.
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -2 * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x), -86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("old"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* out = std::fopen(cert().c_str(), "w");
  PEM_write_X509(out, x);
  std::fclose(out);
  out = std::fopen(this->key().c_str(), "w");
  PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  X509_free(x);
  EVP_PKEY_free(key);

  TlsServerContext tls(cert(), this->key());
  EXPECT_TRUE(tls.Certificate().expired);
  EXPECT_LT(tls.Certificate().not_after, std::chrono::system_clock::now());
  EXPECT_EQ(tls.Certificate().serial, "07");
}

// curl is git's HTTP client: what it accepts, git with GIT_SSL_CAINFO does.
TEST_F(TlsServerContextTest, CurlTrustsTheTestCaForBothNames) {
  Install("first");
  TlsServerContext tls(cert(), key());
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  // Answers every request with "ok" and closes.
  std::function<void()> accept = [&] {
    auto stream = std::make_shared<net::ssl::stream<tcp::socket>>(io, *tls.Current());
    acceptor.async_accept(stream->next_layer(), [&, stream](boost::system::error_code ec) {
      if (ec) return;
      accept();
      stream->async_handshake(
          net::ssl::stream_base::server, [stream](boost::system::error_code ec) {
            if (ec) return;
            auto request = std::make_shared<net::streambuf>();
            net::async_read_until(*stream, *request, "\r\n\r\n",
                                  [stream, request](boost::system::error_code ec, size_t) {
                                    if (ec) return;
                                    static const std::string kAnswer =
                                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                        "Connection: close\r\n\r\nok";
                                    net::async_write(*stream, net::buffer(kAnswer),
                                                     [stream](boost::system::error_code, size_t) {
                                                       stream->lowest_layer().close();
                                                     });
                                  });
          });
    });
  };
  accept();
  std::thread server([&] { io.run(); });

  const std::string resolve = "localhost:" + std::to_string(port) + ":127.0.0.1";
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    const RunResult r =
        hephy::Run({.argv = {"curl", "-sSv", "--cacert", ca().string(), "--resolve", resolve,
                             "https://" + host + ":" + std::to_string(port) + "/"}},
                   "", std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << host << ": " << r.err;
    EXPECT_EQ(r.out, "ok") << host;
    EXPECT_NE(r.err.find("ALPN: server accepted http/1.1"), std::string::npos) << r.err;
  }
  io.stop();
  server.join();
}

}  // namespace
}  // namespace hephy

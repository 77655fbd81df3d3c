#include "registry/token_signer.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "hephy/error.h"
#include "util/base64.h"
#include "util/private_file.h"

namespace hephy {
namespace {

// Long-lived: the certificate is trusted by name in the registry's config,
// not by a CA, and is remade well before it ends.
constexpr long kValidDays = 3650;
constexpr long kRenewDays = 30;

using Bio = std::unique_ptr<BIO, int (*)(BIO*)>;
using Certificate = std::unique_ptr<X509, void (*)(X509*)>;

Bio ReadBio(const std::filesystem::path& path) {
  return Bio(BIO_new_file(path.c_str(), "r"), BIO_free);
}

std::string MemoryOf(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(length));
}

std::string DerOf(X509* certificate) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(certificate, &der);
  if (length <= 0) throw Error("cannot encode the registry token certificate");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

void AddExtension(X509* certificate, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr || X509_add_ext(certificate, extension, -1) != 1) {
    X509_EXTENSION_free(extension);
    throw Error("cannot make the registry token certificate");
  }
  X509_EXTENSION_free(extension);
}

// Self-signed, for `key`: the registry checks a token's x5c chain against it.
Certificate SelfSigned(EVP_PKEY* key) {
  Certificate certificate(X509_new(), X509_free);
  unsigned char serial[16];
  if (!certificate || RAND_bytes(serial, sizeof serial) != 1) {
    throw Error("cannot make the registry token certificate");
  }
  serial[0] &= 0x7f;  // a positive serial number
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_set =
      number != nullptr && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get()));
  BN_free(number);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  if (!serial_set || X509_set_version(certificate.get(), 2) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValidDays * 24 * 3600) == nullptr ||
      X509_set_pubkey(certificate.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("hephyd registry tokens"),
                                 -1, -1, 0) != 1 ||
      X509_set_issuer_name(certificate.get(), name) != 1) {
    throw Error("cannot make the registry token certificate");
  }
  AddExtension(certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(certificate.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  AddExtension(certificate.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(certificate.get(), key, EVP_sha256()) == 0) {
    throw Error("cannot sign the registry token certificate");
  }
  return certificate;
}

void Replace(const std::filesystem::path& temporary, const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) throw Error(path.string() + ": cannot write: " + ec.message());
}

}  // namespace

TokenSigner::TokenSigner(const std::filesystem::path& dir)
    : key_path_(dir / "registry-token.key"),
      certificate_path_(dir / "registry-token.crt"),
      key_(nullptr, EVP_PKEY_free) {
  if (!Load()) Make();
}

bool TokenSigner::Load() {
  struct stat status;
  if (lstat(key_path_.c_str(), &status) != 0) {
    if (errno == ENOENT) return false;
    throw Error(key_path_.string() + ": " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode) || (status.st_mode & 077) != 0 || status.st_uid != geteuid()) {
    throw Error(key_path_.string() +
                ": the registry's token signing key must be a file of hephyd's user that only "
                "it can read (mode 0600); whoever read it can forge tokens: delete it (hephyd "
                "makes a new one) or chmod 600 it");
  }
  const Bio key_file = ReadBio(key_path_);
  if (key_file) key_.reset(PEM_read_bio_PrivateKey(key_file.get(), nullptr, nullptr, nullptr));
  if (!key_) {
    throw Error(key_path_.string() +
                ": not a PEM private key; delete it and hephyd makes a new one");
  }
  const Bio certificate_file = ReadBio(certificate_path_);
  const Certificate certificate(
      certificate_file ? PEM_read_bio_X509(certificate_file.get(), nullptr, nullptr, nullptr)
                       : nullptr,
      X509_free);
  // A missing, foreign or ending certificate is remade, with a new key.
  const time_t renew_by = std::time(nullptr) + kRenewDays * 24 * 3600;
  if (!certificate || X509_check_private_key(certificate.get(), key_.get()) != 1 ||
      X509_cmp_time(X509_get0_notAfter(certificate.get()), const_cast<time_t*>(&renew_by)) <= 0) {
    key_.reset();
    return false;
  }
  certificate_der_ = DerOf(certificate.get());
  return true;
}

void TokenSigner::Make() {
  key_.reset(EVP_RSA_gen(2048));
  if (!key_) throw Error("cannot make the registry token signing key");
  const Certificate certificate = SelfSigned(key_.get());
  const Bio key_pem(BIO_new(BIO_s_mem()), BIO_free);
  const Bio certificate_pem(BIO_new(BIO_s_mem()), BIO_free);
  if (!key_pem || !certificate_pem ||
      PEM_write_bio_PrivateKey(key_pem.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(certificate_pem.get(), certificate.get()) != 1) {
    throw Error("cannot encode the registry token signing key");
  }
  // Written aside and renamed into place: a crash in between leaves a key
  // and certificate that do not match, which Load remakes.
  const auto key_temporary = key_path_.string() + ".new";
  const auto certificate_temporary = certificate_path_.string() + ".new";
  std::filesystem::remove(key_temporary);
  WritePrivateFile(key_temporary, MemoryOf(key_pem.get()));
  {
    std::ofstream out(certificate_temporary, std::ios::trunc);
    out << MemoryOf(certificate_pem.get());
    if (!out.flush()) throw Error(certificate_temporary + ": cannot write");
  }
  Replace(key_temporary, key_path_);
  Replace(certificate_temporary, certificate_path_);
  certificate_der_ = DerOf(certificate.get());
}

std::string TokenSigner::Sign(const nlohmann::json& claims) const {
  const nlohmann::json header = {
      {"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {Base64Encode(certificate_der_)}}};
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                   EVP_MD_CTX_free);
  size_t length = 0;
  // An RSA key signs with PKCS #1 v1.5 unless told otherwise: RS256.
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1) {
    throw Error("cannot sign a registry token");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     data, input.size()) != 1) {
    throw Error("cannot sign a registry token");
  }
  signature.resize(length);
  return input + "." + Base64UrlEncode(signature);
}

}  // namespace hephy

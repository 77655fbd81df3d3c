// A certificate authority made by a test with the openssl command, and the
// server certificates it signs: what a private CA looks like to hephyd.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/process.h"

namespace hephy {

class TestCa {
 public:
  // Writes ca.crt and ca.key (EC P-256, valid for a day) into `dir`.
  explicit TestCa(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "1", "-subj", "/CN=hephy test CA", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             "-keyout", (dir_ / "ca.key").string(), "-out", certificate().string()});
  }

  // The CA's certificate (PEM): what clients are told to trust (git with
  // GIT_SSL_CAINFO, curl with --cacert, hephyd with registry.ca_file).
  std::filesystem::path certificate() const { return dir_ / "ca.crt"; }

  struct Issued {
    std::filesystem::path certificate;
    std::filesystem::path key;
  };
  // A server certificate `name`.crt (and its key) for the subject alternative
  // names `sans` ("IP:127.0.0.1", "DNS:localhost"), signed by this CA.
  Issued Issue(const std::string& name, const std::vector<std::string>& sans) {
    std::string san_list;
    for (const auto& san : sans) san_list += (san_list.empty() ? "" : ",") + san;
    return Sign(name, "subjectAltName=" + san_list + "\nextendedKeyUsage=serverAuth\n");
  }

  // A server certificate for this machine's loopback names, 127.0.0.1 and
  // localhost: what hephyd's HTTPS listener (http.tls_cert, http.tls_key)
  // serves in tests.
  Issued IssueLocal(const std::string& name) {
    return Issue(name, {"IP:127.0.0.1", "DNS:localhost"});
  }

  // A client certificate `name`.crt (and its key) whose subject's common
  // name is `name`, signed by this CA: the user name a Kubernetes API server
  // takes from it.
  Issued IssueClient(const std::string& name) {
    return Sign(name, "extendedKeyUsage=clientAuth\n");
  }

 private:
  Issued Sign(const std::string& name, const std::string& extension_lines) {
    const Issued out{dir_ / (name + ".crt"), dir_ / (name + ".key")};
    const auto request = dir_ / (name + ".csr");
    const auto extensions = dir_ / (name + ".ext");
    std::ofstream(extensions) << extension_lines << "basicConstraints=CA:FALSE\n";
    OpenSsl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=" + name, "-keyout", out.key.string(), "-out", request.string()});
    OpenSsl({"x509", "-req", "-in", request.string(), "-CA", certificate().string(), "-CAkey",
             (dir_ / "ca.key").string(), "-set_serial", std::to_string(++serial_), "-days", "1",
             "-extfile", extensions.string(), "-out", out.certificate.string()});
    return out;
  }

  static void OpenSsl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    const RunResult r = Run({.argv = args});
    if (r.exit_code != 0) throw std::runtime_error("openssl " + args[1] + " failed: " + r.err);
  }

  std::filesystem::path dir_;
  int serial_ = 1;
};

}  // namespace hephy

// Runs hephyd's command line in-process, as `hephyd --config CONFIG ARGS...`,
// with a configuration whose data_dir is in a fresh test directory.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "test_dir.h"

namespace hephy {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  CliTest() {
    config_ = dir_.path() / "hephy.yaml";
    std::ofstream(config_) << "data_dir: " << data_dir().string() << "\n";
  }

  // `args` with "--config CONFIG" before them.
  std::vector<std::string> Args(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", config_.string()});
    return args;
  }

  Outcome Run(std::vector<std::string> args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out, err;
    const int code = RunCli(Args(std::move(args)), {in, out, err});
    return {code, out.str(), err.str()};
  }

  std::filesystem::path data_dir() const { return dir_.path() / "data"; }

  TestDir dir_;
  std::filesystem::path config_;
};

}  // namespace hephy

// The commands behind the CLI, grouped as `hephyd GROUP VERB`. Each group
// lives in its own cli_GROUP.cc.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_args.h"
#include "hephy/config.h"
#include "hephy/store.h"

namespace hephy {

struct CommandContext {
  const Config& config;
  Store& store;
  CliStreams io;
  std::string actor;  // who runs it, for the audit log: "cli" on the host
};

struct Command {
  std::string_view group;  // "users"
  std::string_view verb;   // "add"; empty for a group that is one command ("logs")
  std::string_view usage;  // "users add NAME [--admin]"
  std::string_view help;   // what it does, for --help
  int (*run)(CliArgs& args, CommandContext& context);
};

const std::vector<Command>& UsersCommands();
const std::vector<Command>& KeysCommands();
const std::vector<Command>& AppsCommands();
const std::vector<Command>& BuildsCommands();
const std::vector<Command>& LogsCommands();
const std::vector<Command>& RebuildCommands();
const std::vector<Command>& TokensCommands();

// Prints rows under headers in aligned columns, as `docker ps` does.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);
// Prints JSON followed by a newline.
void PrintJson(std::ostream& out, const nlohmann::json& value);

}  // namespace hephy

// hephyd apps create | list
#include <ostream>

#include "cli_commands.h"
#include "hephy/repo_store.h"

namespace hephy {
namespace {

// The address clients use; a wildcard listen address is not one.
std::string PushHost(const ListenAddress& listen) {
  if (listen.host == "0.0.0.0" || listen.host == "::") {
    return "HOST:" + std::to_string(listen.port);
  }
  return listen.ToString();
}

int Create(CliArgs& args, CommandContext& ctx) {
  const auto owner = args.Option("--owner");
  const std::string name = args.Required("NAME");
  args.ExpectEnd();
  const App app = ctx.store.CreateApp(name, owner);
  ctx.store.Audit({ctx.actor, "apps.create", name, owner ? "owner " + *owner : "", ""});
  ctx.io.out << "created app " << app.name << (owner ? " owned by " + *owner : "") << "\n"
             << "push to it with: git push ssh://git@" << PushHost(ctx.config.ssh.listen) << "/"
             << app.name << ".git main\n";
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  args.ExpectEnd();
  const auto apps = ctx.store.ListApps();
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& a : apps) {
      out.push_back({{"name", a.name},
                     {"owner", a.owner ? nlohmann::json(*a.owner) : nlohmann::json(nullptr)},
                     {"created_at", a.created_at}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : apps) rows.push_back({a.name, a.owner.value_or("-"), a.created_at});
  PrintTable(ctx.io.out, {"NAME", "OWNER", "CREATED"}, rows);
  return 0;
}

}  // namespace

const std::vector<Command>& AppsCommands() {
  static const std::vector<Command> commands = {
      {"apps", "create", "apps create NAME [--owner USER]",
       "Records an app; its repository is made by the first push. Names are 1 to 63\n"
       "lowercase letters, digits and '-'. Without --owner only admins may push to\n"
       "it. (A user's first push to an unknown app creates it, owned by them, unless\n"
       "apps.auto_create is false.)",
       Create},
      {"apps", "list", "apps list [--json]", "Lists apps and their owners.", List},
  };
  return commands;
}

}  // namespace hephy

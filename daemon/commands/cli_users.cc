// hephyd users add | list | remove
#include <ostream>

#include "commands/cli_commands.h"

namespace hephy {
namespace {

int Add(CliArgs& args, CommandContext& ctx) {
  const bool admin = args.Flag("--admin");
  const std::string name = args.Required("NAME");
  args.ExpectEnd();
  RequireAdmin(ctx, "add users");
  const User user = ctx.store.AddUser(name, admin);
  ctx.store.Audit({ctx.actor, "users.add", name, admin ? "admin" : "", Remote(ctx)});
  ctx.io.out << "added " << (admin ? "admin " : "user ") << user.name << "\n";
  return 0;
}

int List(CliArgs& args, CommandContext& ctx) {
  const bool json = args.Flag("--json");
  args.ExpectEnd();
  RequireAdmin(ctx, "list users");
  const auto users = ctx.store.ListUsers();
  const auto keys = ctx.store.ListKeys(std::nullopt);
  const auto key_count = [&](const std::string& name) {
    return std::count_if(keys.begin(), keys.end(), [&](const auto& k) { return k.user == name; });
  };
  if (json) {
    auto out = nlohmann::json::array();
    for (const auto& u : users) {
      out.push_back({{"name", u.name},
                     {"admin", u.admin},
                     {"keys", key_count(u.name)},
                     {"created_at", u.created_at}});
    }
    PrintJson(ctx.io.out, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : users) {
    rows.push_back(
        {u.name, u.admin ? "yes" : "no", std::to_string(key_count(u.name)), u.created_at});
  }
  PrintTable(ctx.io.out, {"NAME", "ADMIN", "KEYS", "CREATED"}, rows);
  return 0;
}

int Remove(CliArgs& args, CommandContext& ctx) {
  const std::string name = args.Required("NAME");
  args.ExpectEnd();
  RequireAdmin(ctx, "remove users");
  const auto apps = ctx.store.RemoveUser(name);
  ctx.store.Audit({ctx.actor, "users.remove", name, "", Remote(ctx)});
  ctx.io.out << "removed user " << name << " and their keys\n";
  for (const auto& app : apps) ctx.io.out << "app " << app << " is now managed by admins\n";
  return 0;
}

}  // namespace

const std::vector<Command>& UsersCommands() {
  static const std::vector<Command> commands = {
      {"users", "add", "users add NAME [--admin]",
       "Adds a user. Admins may push to and read every app. Names are 1 to 39\n"
       "lowercase letters, digits, '.', '_' and '-'.",
       Add},
      {"users", "list", "users list [--json]", "Lists users with their number of SSH keys.", List},
      {"users", "remove", "users remove NAME",
       "Removes a user, their SSH keys and app memberships. Apps they owned stay,\n"
       "managed by admins.",
       Remove},
  };
  return commands;
}

}  // namespace hephy

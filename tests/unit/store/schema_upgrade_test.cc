// Upgrades from every earlier schema keep every row: for each k below the
// newest migration, a database migrated to k gets one row in every table
// that exists at k, with values made from the table's own columns (PRAGMA
// table_info), then the current Store migrates it to the newest, and every
// row must still be there with every column that still exists unchanged.
// Nothing here names a table: a new migration is covered as it lands.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <variant>

#include "hephy/store.h"
#include "store/migrations.h"
#include "test_dir.h"

namespace hephy {
namespace {

// Tables a migration dropped on purpose (and why) would be listed here;
// any other table that disappears fails the test.
const std::set<std::string> kDroppedOnPurpose = {};

// std::monostate is NULL.
using Value = std::variant<std::monostate, int64_t, std::string>;

std::string Show(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  return std::holds_alternative<int64_t>(v) ? std::to_string(std::get<int64_t>(v))
                                            : "'" + std::get<std::string>(v) + "'";
}

struct Column {
  std::string name;
  std::string type;
};

struct ForeignKey {
  std::string from, table, to;
};

std::vector<std::string> Tables(SQLite::Database& db) {
  std::vector<std::string> names;
  SQLite::Statement q(db,
                      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                      "'sqlite_%' AND name != 'schema_migrations' ORDER BY name");
  while (q.executeStep()) names.push_back(q.getColumn(0).getString());
  return names;
}

std::vector<Column> Columns(SQLite::Database& db, const std::string& table) {
  std::vector<Column> columns;
  SQLite::Statement q(db, "SELECT name, type FROM pragma_table_info(?)");
  q.bind(1, table);
  while (q.executeStep())
    columns.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
  return columns;
}

std::vector<ForeignKey> ForeignKeys(SQLite::Database& db, const std::string& table) {
  std::vector<ForeignKey> keys;
  SQLite::Statement q(db, "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?)");
  q.bind(1, table);
  while (q.executeStep()) {
    const std::string to = q.getColumn(2).isNull() ? "" : q.getColumn(2).getString();
    keys.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), to});
  }
  return keys;
}

// Parents before children, so that every foreign key has its row.
std::vector<std::string> InDependencyOrder(SQLite::Database& db) {
  std::vector<std::string> pending = Tables(db), ordered;
  while (!pending.empty()) {
    const auto ready = std::find_if(pending.begin(), pending.end(), [&](const std::string& t) {
      for (const auto& key : ForeignKeys(db, t)) {
        if (key.table != t &&
            std::find(pending.begin(), pending.end(), key.table) != pending.end()) {
          return false;
        }
      }
      return true;
    });
    if (ready == pending.end()) {
      ADD_FAILURE() << "foreign keys form a cycle among the tables left";
      break;
    }
    ordered.push_back(*ready);
    pending.erase(ready);
  }
  return ordered;
}

// A value for a column that no default or other column would give: it
// names the table, the column and the version, so a value moved to the
// wrong column shows.
Value MadeUp(const std::string& table, const Column& column, int version, int index) {
  std::string type = column.type;
  std::transform(type.begin(), type.end(), type.begin(), ::toupper);
  if (type.find("INT") != std::string::npos) return int64_t{1000 * version + 10 + index};
  return table + "." + column.name + "@" + std::to_string(version);
}

// The last literal of a failed CHECK ("status IN ('queued', ..., 'interrupted')",
// "admin IN (0, 1)", "id = 1"), for the column it names: a value it allows
// that is not the column's default, when the default is listed first. A
// CHECK without a literal that tests columns for NULL ("(user_id IS NULL) <>
// (app_id IS NULL)": one or the other) is met by making the first of them
// that holds a value NULL.
bool FitToCheck(const std::string& message, const std::vector<Column>& columns,
                std::map<std::string, Value>& row) {
  const std::string prefix = "CHECK constraint failed: ";
  const auto at = message.find(prefix);
  if (at == std::string::npos) return false;
  const std::string expression = message.substr(at + prefix.size());
  std::optional<Value> literal;
  static const std::regex kLiteral(R"('([^']*)'|\b(\d+)\b)");
  for (std::sregex_iterator it(expression.begin(), expression.end(), kLiteral), end; it != end;
       ++it) {
    if ((*it)[1].matched) {
      literal = (*it)[1].str();
    } else {
      literal = int64_t{std::stoll((*it)[2].str())};
    }
  }
  if (!literal) {
    for (const auto& column : columns) {
      if (std::regex_search(expression, std::regex("\\b" + column.name + " IS NULL\\b")) &&
          !std::holds_alternative<std::monostate>(row.at(column.name))) {
        row[column.name] = std::monostate{};
        return true;
      }
    }
    return false;
  }
  for (const auto& column : columns) {
    if (std::regex_search(expression, std::regex("\\b" + column.name + "\\b")) &&
        row.at(column.name) != *literal) {
      row[column.name] = *literal;
      return true;
    }
  }
  return false;
}

void Bind(SQLite::Statement& q, int index, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    q.bind(index);
  } else if (std::holds_alternative<int64_t>(v)) {
    q.bind(index, std::get<int64_t>(v));
  } else {
    q.bind(index, std::get<std::string>(v));
  }
}

// The rows put in, by table.
using Inserted = std::map<std::string, std::map<std::string, Value>>;

Inserted InsertARowEverywhere(SQLite::Database& db, int version) {
  Inserted inserted;
  for (const auto& table : InDependencyOrder(db)) {
    const auto columns = Columns(db, table);
    std::map<std::string, Value> row;
    for (size_t i = 0; i < columns.size(); ++i) {
      row[columns[i].name] = MadeUp(table, columns[i], version, static_cast<int>(i));
    }
    for (const auto& key : ForeignKeys(db, table)) {
      const auto& parent = inserted.at(key.table);
      row[key.from] = parent.at(key.to.empty() ? "id" : key.to);
    }
    std::string names, marks;
    for (const auto& column : columns) {
      names += (names.empty() ? "" : ", ") + ("\"" + column.name + "\"");
      marks += marks.empty() ? "?" : ", ?";
    }
    for (size_t attempt = 0;; ++attempt) {
      try {
        SQLite::Statement insert(
            db, "INSERT INTO \"" + table + "\" (" + names + ") VALUES (" + marks + ")");
        for (size_t i = 0; i < columns.size(); ++i) {
          Bind(insert, static_cast<int>(i) + 1, row.at(columns[i].name));
        }
        insert.exec();
        break;
      } catch (const SQLite::Exception& e) {
        if (attempt > columns.size() || !FitToCheck(e.what(), columns, row)) {
          ADD_FAILURE() << "at schema " << version << ", cannot insert into " << table << ": "
                        << e.what();
          break;
        }
      }
    }
    inserted[table] = row;
  }
  return inserted;
}

// Whether `table` holds a row with `row`'s values in every column it still
// has; failures say what it holds instead.
void ExpectRowKept(SQLite::Database& db, const std::string& table,
                   const std::map<std::string, Value>& row, int version) {
  std::vector<std::pair<std::string, Value>> kept;
  for (const auto& column : Columns(db, table)) {
    if (row.contains(column.name)) kept.emplace_back(column.name, row.at(column.name));
  }
  std::string where, shown;
  for (const auto& [name, value] : kept) {
    where += (where.empty() ? "" : " AND ") + ("\"" + name + "\" IS ?");
    shown += (shown.empty() ? "" : ", ") + name + "=" + Show(value);
  }
  SQLite::Statement q(
      db, "SELECT count(*) FROM \"" + table + "\"" + (where.empty() ? "" : " WHERE " + where));
  for (size_t i = 0; i < kept.size(); ++i) Bind(q, static_cast<int>(i) + 1, kept[i].second);
  q.executeStep();
  EXPECT_EQ(q.getColumn(0).getInt(), 1)
      << "the row put into " << table << " at schema " << version
      << " is not there after migrating to the newest, or changed: expected " << shown;
}

// Migrates a database with one row in every table of schema k (the first
// k of `all`) to all of `all` with `migrate`, and checks every row.
void UpgradeFrom(int k, const std::vector<MigrationSource>& all,
                 const std::function<int(const std::filesystem::path&)>& migrate) {
  TestDir dir;
  const auto path = dir.path() / "hephy.db";
  Inserted inserted;
  std::map<std::string, int> counts;
  {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    ApplyMigrations(db, {all.begin(), all.begin() + k});
    inserted = InsertARowEverywhere(db, k);
    for (const auto& [table, row] : inserted) {
      counts[table] = db.execAndGet("SELECT count(*) FROM \"" + table + "\"").getInt();
    }
  }
  ASSERT_FALSE(inserted.empty()) << "no tables at schema " << k;

  EXPECT_EQ(migrate(path), static_cast<int>(all.size()) - k);
  SQLite::Database db(path.string(), SQLite::OPEN_READONLY);
  const auto now = Tables(db);
  for (const auto& [table, row] : inserted) {
    if (std::find(now.begin(), now.end(), table) == now.end()) {
      EXPECT_TRUE(kDroppedOnPurpose.contains(table))
          << "table " << table << " of schema " << k << " is gone after migrating";
      continue;
    }
    // No migration deletes rows; one that adds some would say so here.
    EXPECT_EQ(db.execAndGet("SELECT count(*) FROM \"" + table + "\"").getInt(), counts[table])
        << table << " after migrating from schema " << k;
    ExpectRowKept(db, table, row, k);
  }
}

class SchemaUpgrade : public testing::TestWithParam<int> {};

// Through the Store, as hephyd serve and every command migrate.
TEST_P(SchemaUpgrade, EveryRowOfEveryTableSurvives) {
  UpgradeFrom(GetParam(), EmbeddedMigrations(),
              [](const std::filesystem::path& path) { return Store(path).Migrate(); });
}

// Every schema but the newest, 1 .. N-1.
std::vector<int> EarlierSchemas() {
  std::vector<int> versions;
  for (int k = 1; k < static_cast<int>(EmbeddedMigrations().size()); ++k) versions.push_back(k);
  return versions;
}

INSTANTIATE_TEST_SUITE_P(FromEachEarlierSchema, SchemaUpgrade, testing::ValuesIn(EarlierSchemas()),
                         [](const testing::TestParamInfo<int>& info) {
                           return EmbeddedMigrations()[info.param - 1].file.substr(0, 4);
                         });

// The inserted values really differ from defaults, so the test would see a
// column reset by a migration: a CHECK-constrained column got a value other
// than its default where the CHECK allows one.
TEST(SchemaUpgradeValues, ChecksAreMetWithValuesOtherThanTheDefault) {
  TestDir dir;
  SQLite::Database db((dir.path() / "h.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA foreign_keys = ON");
  ApplyMigrations(db, EmbeddedMigrations());
  const Inserted rows = InsertARowEverywhere(db, 99);
  ASSERT_TRUE(rows.contains("builds"));
  EXPECT_NE(rows.at("builds").at("status"), Value(std::string("queued")));
  EXPECT_EQ(rows.at("users").at("admin"), Value(int64_t{1}));
  EXPECT_EQ(rows.at("builds").at("app_id"), rows.at("apps").at("id"));
  // One of two columns tested for NULL is made NULL: a deploy token.
  EXPECT_EQ(rows.at("api_tokens").at("user_id"), Value(std::monostate{}));
  EXPECT_EQ(rows.at("api_tokens").at("app_id"), rows.at("apps").at("id"));
  EXPECT_EQ(rows.at("api_tokens").at("access"), Value(std::string("write")));
}

// The check sees a migration that loses a value or a row.
TEST(SchemaUpgradeValues, ALossyMigrationIsCaught) {
  const int newest = static_cast<int>(EmbeddedMigrations().size());
  for (const std::string lossy : {"UPDATE users SET name = 'someone';", "DELETE FROM apps;"}) {
    auto all = EmbeddedMigrations();
    all.push_back({"9999_lossy.sql", lossy});
    testing::TestPartResultArray failures;
    {
      const testing::ScopedFakeTestPartResultReporter intercept(
          testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      UpgradeFrom(newest, all, [&](const std::filesystem::path& path) {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
        db.exec("PRAGMA foreign_keys = ON");
        return ApplyMigrations(db, all);
      });
    }
    bool caught = false;
    for (int i = 0; i < failures.size(); ++i) {
      caught = caught || std::string(failures.GetTestPartResult(i).message())
                                 .find("is not there after migrating to the newest, or changed") !=
                             std::string::npos;
    }
    EXPECT_TRUE(caught) << lossy;
  }
}

}  // namespace
}  // namespace hephy

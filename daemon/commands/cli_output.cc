// How commands print what they list: aligned tables for people, JSON for
// scripts (--json).
#include <algorithm>
#include <ostream>

#include "commands/cli_commands.h"

namespace hephy {

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& h : headers) widths.push_back(h.size());
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(widths[c] - cells[c].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

void PrintJson(std::ostream& out, const nlohmann::json& value) { out << value.dump(2) << "\n"; }

}  // namespace hephy

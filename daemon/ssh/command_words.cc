#include "ssh/command_words.h"

#include "hephy/error.h"

namespace hephy {

std::vector<std::string> SplitCommandWords(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (const char c : command) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw Error("the command holds a control character");
    }
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) throw Error(std::string("the command has an unclosed ") + quote);
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) throw Error("no command given; try 'help'");
  return words;
}

}  // namespace hephy

// A Dockerfile read into its instructions, as Docker and BuildKit read it:
// parser directives ("# escape=`") honoured, continuation lines joined,
// comments and blank lines skipped (inside continuations too), heredoc
// bodies of RUN/COPY/ADD skipped. Pure functions.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hephy {

// One instruction with its continuation lines joined: the escape character
// that ends a line is dropped and nothing is put in its place, as Docker does.
struct DockerfileInstruction {
  size_t line;                  // 1-based, of its first line
  std::string text;             // the joined text, keyword first
  std::vector<size_t> offsets;  // offsets[i]: where text[i] is in the Dockerfile
};

std::vector<DockerfileInstruction> DockerfileInstructions(std::string_view dockerfile);

// The [begin, end) of each blank-separated word of `text`.
std::vector<std::pair<size_t, size_t>> DockerfileWords(std::string_view text);

// Where a flag of an instruction (`keyword` in lower case) takes content
// from: the X of COPY/ADD --from=X and of RUN --mount=...,from=X,...; none
// for any other flag. Flag and option names are matched as given.
std::vector<std::string> FlagSources(std::string_view keyword, std::string_view flag);

// `text` with its variables replaced as Docker does: $NAME, ${NAME},
// ${NAME:-word}, ${NAME:+word}; a name without a value is empty, "\$" is a
// literal '$'.
std::string ExpandVariables(std::string_view text,
                            const std::map<std::string, std::string>& values);

}  // namespace hephy

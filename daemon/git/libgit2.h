// libgit2 glue shared by everything in hephyd that reads repositories.
#pragma once

#include <git2.h>

#include <memory>
#include <string>

namespace hephy::git {

// Initialises libgit2 once per process; cheap to call again.
void Init();

// Throws Error "<what>: <libgit2's last error>".
[[noreturn]] void Throw(const std::string& what);

// Frees a libgit2 object with its own free function. A named type, not a
// lambda: clang 14 makes each use of a lambda in an alias a type of its own.
template <typename T, void (*Free)(T*)>
struct FreeWith {
  void operator()(T* p) const { Free(p); }
};

// Owns a libgit2 object and frees it with its own free function.
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, FreeWith<T, Free>>;

}  // namespace hephy::git

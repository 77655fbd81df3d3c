#include "git/libgit2.h"

#include "hephy/error.h"

namespace hephy::git {

void Init() {
  static const int init = git_libgit2_init();
  (void)init;
}

void Throw(const std::string& what) {
  const git_error* e = git_error_last();
  throw Error(what + ": " + (e != nullptr ? e->message : "libgit2 error"));
}

}  // namespace hephy::git

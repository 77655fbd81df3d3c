// hephy-hook: installed by hephyd as every repository's pre-receive hook.
// git runs it with the pushed ref updates on stdin ("OLD NEW REF" lines) and
// accepts the push when it exits 0. In this version it accepts every push;
// the build-on-push protocol with hephyd replaces this body.
#include <unistd.h>

int main() {
  // Drain stdin so that git never sees a broken pipe writing the ref list.
  char buffer[4096];
  while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
  }
  return 0;
}

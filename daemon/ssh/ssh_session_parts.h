// What the files of SshSession (ssh_session*.cc) share: its logger, its
// clock and the trampoline from libssh's C callbacks to the session.
#pragma once

#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "ssh/ssh_session.h"

namespace hephy::session_parts {

std::shared_ptr<spdlog::logger> Log();

inline std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }

inline SshSession* Self(void* userdata) { return static_cast<SshSession*>(userdata); }

}  // namespace hephy::session_parts

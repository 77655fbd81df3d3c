// The message of the hephy::Error a piece of code throws, for tests that
// check what users are told.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "hephy/error.h"

namespace hephy {

// What `f` throws as Error; a test failure (and "") when it throws nothing.
template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

}  // namespace hephy

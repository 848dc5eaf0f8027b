// Shared helpers for the C++ tests: throwaway databases and unique organization slugs.
#pragma once

#include <Poco/TemporaryFile.h>
#include <Poco/UUIDGenerator.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "scimitar/store.h"

namespace scimitar::test {

inline std::string UniqueSlug(const std::string& prefix) {
  return prefix + "-" + Poco::UUIDGenerator::defaultGenerator().createRandom().toString().substr(0, 8);
}

// "sqlite" opens a new temporary file; "postgres" opens $SCIMITAR_TEST_PG_URL (empty if unset).
inline std::string UrlFor(const std::string& backend) {
  if (backend == "sqlite") {
    static Poco::TemporaryFile dir;  // removed at exit
    dir.createDirectories();
    return "sqlite:///" + dir.path() + "/" + UniqueSlug("t") + ".db";
  }
  const char* pg = std::getenv("SCIMITAR_TEST_PG_URL");
  return pg ? pg : "";
}

}  // namespace scimitar::test

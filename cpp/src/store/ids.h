// Identifiers of new resources.
#pragma once

#include <string>

namespace scimitar::store {

// A new UUID version 7 (RFC 9562) in canonical text form: 48 bits of Unix milliseconds, then 74
// random bits from the kernel's CSPRNG. Ids made later sort later, so inserts land at the end of the
// id indexes instead of on random pages (fewer pages written per transaction on large tables).
// Thread-safe: each thread draws from its own buffer of random bytes.
std::string NewResourceId();

}  // namespace scimitar::store

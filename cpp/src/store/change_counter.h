// A 64-bit counter that every process opening the same SQLite database shares through a memory map
// of the file "<database>-writer" (the file the writer lock also uses, store/writer_lock.h), so a
// change one process makes is seen by the others with a single memory read. It lets a process cache
// data that other processes may change (authentication) and still see every change at once: a
// writer commits, then increments; a reader loads the counter before it reads the database, and
// trusts a cached entry only if the entry was read under the counter's current value.
// Thread-safe and process-safe (atomic operations on the shared page).
#pragma once

#include <cstdint>
#include <string>

namespace scimitar::store {

class ChangeCounter {
 public:
  // Maps the counter; usable() is false when the file cannot be opened or mapped (no permission),
  // and then callers must not cache.
  explicit ChangeCounter(const std::string& database_path);
  ~ChangeCounter();
  ChangeCounter(const ChangeCounter&) = delete;
  ChangeCounter& operator=(const ChangeCounter&) = delete;

  bool usable() const { return value_ != nullptr; }
  uint64_t Load() const;  // acquire; 0 when not usable
  void Increment();       // release; no-op when not usable

 private:
  uint64_t* value_ = nullptr;  // the first 8 bytes of the shared mapping
};

}  // namespace scimitar::store

// SQLite admits one writer at a time. This lock makes scimitar's writers queue for it instead of
// polling: the threads of a process on a mutex, and processes on an advisory lock (fcntl F_SETLKW)
// on the file "<database>-writer", which the kernel hands to a waiting process when it is released.
// Without it, a writer in another process (a server while an import runs) waits in SQLite's busy
// handler, which sleeps up to 100 ms between tries and can keep missing the gaps between batches.
// Thread-safe; BasicLockable. lock() waits at most the busy timeout for either (then WriterBusy).
// Writers that are not scimitar still meet SQLite's busy timeout.
#pragma once

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>

namespace scimitar::store {

// Thrown by WriterLock::lock() when this process's other writers kept the lock past the wait.
class WriterBusy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WriterLock {
 public:
  // Opens (creating) the lock file next to the database; without it (no permission), only the
  // threads of this process queue. A thread waits at most `wait` for the others of its process.
  WriterLock(const std::string& database_path, std::chrono::milliseconds wait);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  void lock();
  void unlock();

 private:
  std::timed_mutex threads_;
  std::chrono::milliseconds wait_;
  int fd_ = -1;
};

}  // namespace scimitar::store

// The SQLite writer lock waits for other scimitar processes at most its busy timeout.
#include "store/writer_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>


using scimitar::store::WriterBusy;
using scimitar::store::WriterLock;

TEST(WriterLock, AnotherProcessHoldingItPastTheWaitGivesWriterBusy) {
  char dir[] = "/tmp/scimitar-writer-lock-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string db = std::string(dir) + "/db.sqlite";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {  // holds the lock for 1.5 s
    WriterLock held(db, std::chrono::milliseconds(1000));
    held.lock();
    [[maybe_unused]] ssize_t n = write(ready[1], "x", 1);
    usleep(1'500'000);
    held.unlock();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  WriterLock mine(db, std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(mine.lock(), WriterBusy);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::milliseconds(1200));
  // Once the other process lets go, the lock is granted, and a thread of ours can take it again.
  int status = 0;
  waitpid(child, &status, 0);
  mine.lock();
  mine.unlock();
  mine.lock();
  mine.unlock();
  std::system((std::string("rm -rf ") + dir).c_str());
}

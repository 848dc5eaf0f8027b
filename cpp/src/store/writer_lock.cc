#include "store/writer_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace scimitar::store {

namespace {

void Unlock(int fd) {
  struct flock fl {};
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  while (fcntl(fd, F_SETLK, &fl) == -1 && errno == EINTR) {
  }
}

// A real-time signal whose no-op handler (installed without SA_RESTART) makes a blocked fcntl
// return EINTR: the only way to put a deadline on F_SETLKW.
int WakeSignal() {
  static const int signal_number = [] {
    const int s = SIGRTMIN + 4;
    struct sigaction action {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    sigaction(s, &action, nullptr);
    return s;
  }();
  return signal_number;
}

// Takes the write lock on `fd`, waiting at most `wait`; false if it was not granted in time. While
// it waits, a timer interrupts the calling thread every 20 ms, so a signal lost between two checks
// of the deadline costs one period, not the deadline.
bool LockWithin(int fd, std::chrono::milliseconds wait) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) == 0) return true;
  if (errno != EAGAIN && errno != EACCES && errno != EINTR) return true;  // no advisory locks here: threads only
  sigevent event {};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = WakeSignal();
  event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
    while (fcntl(fd, F_SETLKW, &fl) == -1 && errno == EINTR) {
    }
    return true;
  }
  itimerspec period {};
  period.it_value.tv_nsec = period.it_interval.tv_nsec = 20'000'000;
  timer_settime(timer, 0, &period, nullptr);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  bool locked = false;
  for (;;) {
    if (fcntl(fd, F_SETLKW, &fl) == 0) {
      locked = true;
      break;
    }
    if (errno != EINTR || std::chrono::steady_clock::now() >= deadline) break;
  }
  timer_delete(timer);
  return locked;
}

}  // namespace

WriterLock::WriterLock(const std::string& database_path, std::chrono::milliseconds wait)
    : wait_(wait), fd_(::open((database_path + "-writer").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);
}

void WriterLock::lock() {
  const auto started = std::chrono::steady_clock::now();
  if (!threads_.try_lock_for(wait_))
    throw WriterBusy("database is locked: this process's other writers held it for " + std::to_string(wait_.count()) +
                     " ms");
  if (fd_ < 0) return;
  const auto left = wait_ - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!LockWithin(fd_, std::max(left, std::chrono::milliseconds(1)))) {
    threads_.unlock();
    throw WriterBusy("database is locked: another scimitar process held its write lock for " +
                     std::to_string(wait_.count()) + " ms");
  }
}

void WriterLock::unlock() {
  if (fd_ >= 0) Unlock(fd_);
  threads_.unlock();
}

}  // namespace scimitar::store

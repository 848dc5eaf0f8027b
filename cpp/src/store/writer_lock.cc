#include "store/writer_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace scimitar::store {

namespace {

void Fcntl(int fd, short type) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  while (fcntl(fd, type == F_UNLCK ? F_SETLK : F_SETLKW, &fl) == -1 && errno == EINTR) {
  }
}

}  // namespace

WriterLock::WriterLock(const std::string& database_path, std::chrono::milliseconds wait)
    : wait_(wait), fd_(::open((database_path + "-writer").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);
}

void WriterLock::lock() {
  if (!threads_.try_lock_for(wait_))
    throw WriterBusy("database is locked: this process's other writers held it for " + std::to_string(wait_.count()) +
                     " ms");
  if (fd_ >= 0) Fcntl(fd_, F_WRLCK);
}

void WriterLock::unlock() {
  if (fd_ >= 0) Fcntl(fd_, F_UNLCK);
  threads_.unlock();
}

}  // namespace scimitar::store

#include "store/change_counter.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

namespace scimitar::store {

namespace {
constexpr size_t kSize = sizeof(uint64_t);
}

ChangeCounter::ChangeCounter(const std::string& database_path) {
  int fd = ::open((database_path + "-writer").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  struct stat st {};
  // Growing a short file appends zeros; a file already long enough is left as it is, so two
  // processes opening it at once cannot reset a counter the other has incremented.
  if (::fstat(fd, &st) == 0 && (st.st_size >= static_cast<off_t>(kSize) || ::ftruncate(fd, kSize) == 0)) {
    void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) value_ = static_cast<uint64_t*>(p);
  }
  ::close(fd);  // the mapping stays valid
}

ChangeCounter::~ChangeCounter() {
  if (value_) ::munmap(value_, kSize);
}

uint64_t ChangeCounter::Load() const {
  return value_ ? std::atomic_ref<uint64_t>(*value_).load(std::memory_order_acquire) : 0;
}

void ChangeCounter::Increment() {
  if (value_) std::atomic_ref<uint64_t>(*value_).fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace scimitar::store

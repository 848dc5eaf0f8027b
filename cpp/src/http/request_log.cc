#include "http/request_log.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "scim/json_text.h"

namespace scimitar::http {

namespace {

constexpr size_t kWakeAt = 256 << 10;  // pending bytes that wake the flusher early

// Now as ISO 8601 UTC with milliseconds. Computed from the epoch by hand (civil_from_days, H. Hinnant):
// glibc's gmtime_r takes a process-wide lock, which every worker would contend for.
std::string UtcNow() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const long long secs = now.tv_sec;
  long long days = secs / 86400, rem = secs % 86400;
  if (rem < 0) rem += 86400, --days;
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const long long doe = days - era * 146097;
  const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long long mp = (5 * doy + 2) / 153;
  const long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  const long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03ldZ", year, month, day, rem / 3600,
                rem % 3600 / 60, rem % 60, now.tv_nsec / 1000000);
  return stamp;
}

}  // namespace

RequestLog::RequestLog(std::string path, Format format) : path_(std::move(path)), format_(format) {
  fd_ = path_.empty() ? dup(STDERR_FILENO) : open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::runtime_error("cannot open the request log '" + path_ + "': " + std::strerror(errno));
  flusher_ = std::thread([this] { Flusher(); });
}

RequestLog::~RequestLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();
  close(fd_);
}

void RequestLog::WriteOut(const std::string& text) {
  std::lock_guard<std::mutex> lock(fd_mu_);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n > 0) done += static_cast<size_t>(n);
    else if (n < 0 && errno == EINTR) continue;
    else return;  // a full disk or a closed pipe drops lines; it never stops the server
  }
}

void RequestLog::Flusher() {
  std::string batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_ || pending_.size() >= kWakeAt; });
    batch.clear();
    batch.swap(pending_);
    const bool last = stopping_;
    lock.unlock();
    if (!batch.empty()) WriteOut(batch);
    if (last) return;
    lock.lock();
  }
}

void RequestLog::Reopen() {
  if (path_.empty()) return;
  const int fresh = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fresh < 0) return;
  std::lock_guard<std::mutex> lock(fd_mu_);
  close(fd_);
  fd_ = fresh;
}

std::string RequestLog::Line(const RequestRecord& r, Format format) {
  const std::string time = UtcNow();
  if (format == Format::Text) {
    std::string line = time + " " + r.request_id + " " + (r.org.empty() ? "-" : r.org) + " " +
                       (r.token_id.empty() ? "-" : r.token_id) + " " + r.method + " " + r.path + " " +
                       std::to_string(r.status);
    if (!r.scim_type.empty()) line += " " + r.scim_type;
    line += " " + std::to_string(r.duration_us) + "us in=" + std::to_string(r.bytes_in) +
            " out=" + std::to_string(r.bytes_out);
    // A path is the client's text: no control character may start a fake line.
    std::replace_if(line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return line;
  }
  // Written member by member, in a fixed order (this runs for every request).
  std::string out;
  out.reserve(256 + r.path.size());
  auto text = [&out](const char* key, const std::string& v, bool null_if_empty) {
    out += key;
    if (null_if_empty && v.empty()) out += "null";
    else scim::AppendQuoted(out, v);
  };
  text("{\"time\":", time, false);
  text(",\"request_id\":", r.request_id, false);
  text(",\"org\":", r.org, true);
  text(",\"token_id\":", r.token_id, true);
  text(",\"method\":", r.method, false);
  text(",\"path\":", r.path, false);
  out += ",\"status\":" + std::to_string(r.status);
  text(",\"scimType\":", r.scim_type, true);
  out += ",\"duration_us\":" + std::to_string(r.duration_us);
  out += ",\"bytes_in\":" + std::to_string(r.bytes_in);
  out += ",\"bytes_out\":" + std::to_string(r.bytes_out);
  out += '}';
  return out;
}

void RequestLog::Write(const RequestRecord& r) {
  const std::string line = Line(r, format_);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.append(line).push_back('\n');
    wake = pending_.size() >= kWakeAt;
  }
  if (wake) wake_.notify_one();
}

std::string RequestIdOf(const std::string& header) {
  const bool usable = !header.empty() && header.size() <= 128 && std::all_of(header.begin(), header.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-';
  });
  if (usable) return header;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* const kHex = "0123456789abcdef";
  std::string id(16, '0');
  uint64_t v = rng();
  for (char& c : id) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return id;
}

}  // namespace scimitar::http

// One structured line per answered request, for operators (docs/operations.md, "Request log"): JSON
// objects, or aligned text for a terminal. Never the body, the token or the query string (filter
// values): the fields are time, request id, organization, token id, method, path, status, scimType,
// duration and bytes in and out. Thread-safe: a request appends its line to a buffer under a mutex;
// a flusher thread writes the buffer out every 200 ms (sooner when it passes 256 KiB, and on
// destruction), without holding that mutex. A request never waits for the disk; a crash loses at
// most the last 200 ms of lines.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace scimitar::http {

struct RequestRecord {
  std::string request_id, org, token_id, method, path, scim_type;
  int status = 0;
  long long duration_us = 0;
  size_t bytes_in = 0, bytes_out = 0;
};

class RequestLog {
 public:
  enum class Format { Json, Text };
  // `path` "" writes to stderr; a file is opened for appending (created if missing). Throws
  // std::runtime_error when it cannot be opened.
  RequestLog(std::string path, Format format);
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  void Write(const RequestRecord& r);
  // Reopens the file (after logrotate moved it); a no-op for stderr. Keeps the old file on failure.
  void Reopen();

  // The line Write writes for `r`, without its newline.
  static std::string Line(const RequestRecord& r, Format format);

 private:
  void Flusher();
  void WriteOut(const std::string& text);

  std::string path_;
  Format format_;
  std::mutex mu_;                 // guards pending_ and stopping_
  std::condition_variable wake_;
  std::string pending_;           // lines not written yet
  bool stopping_ = false;
  std::mutex fd_mu_;              // guards fd_ (the flusher writes, Reopen replaces)
  int fd_ = -1;
  std::thread flusher_;
};

// The request id to log and echo: the client's X-Request-Id when it is 1-128 characters of
// [A-Za-z0-9._:-], else a new random one (16 hex digits).
std::string RequestIdOf(const std::string& header);

}  // namespace scimitar::http

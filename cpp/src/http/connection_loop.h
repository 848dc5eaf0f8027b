// The HTTP/1.1 connection handling behind Server: one event thread (Linux epoll, edge-triggered)
// owns every connection while it is idle, reading or writing, and a pool of worker threads runs the
// handler for complete requests only. An idle or slow client therefore costs a file descriptor and a
// buffer, never a worker. Every phase has a deadline: idle keep-alive, the whole request (head and
// body), writing the answer, and lingering after an error answer (so the client can read it before
// the close).
//
// Ownership: a connection belongs to exactly one thread at a time, handed over through the work and
// return queues (whose mutexes order the accesses); only the event thread closes connections.
// Thread-safety: Start and Stop from one controlling thread; open_connections() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/request_parser.h"
#include "service/response.h"

namespace scimitar::http {

struct LoopOptions {
  int workers = 16;
  size_t max_connections = 10000;       // beyond it the longest-idle connection is closed
  std::chrono::milliseconds idle_timeout{10000};     // keep-alive wait for a request's first byte
  std::chrono::milliseconds request_timeout{10000};  // first byte to last byte of head and body: 408
  std::chrono::milliseconds write_timeout{30000};    // to send one answer
  std::chrono::milliseconds linger_timeout{5000};    // reading what a refused client still sends
  size_t max_discard_bytes = 64u << 20;              // ... at most this much
  ParserLimits parser;
  // Called on the event thread for each request refused before it was read whole (400, 408, 413,
  // 414, 431, ...), with its answer and the bytes read of it; must be quick and not throw.
  std::function<void(const service::Response& answer, size_t bytes_in)> on_refused;
};

class ConnectionLoop {
 public:
  using Handler = std::function<service::Response(const Request&)>;  // must not throw

  // `listen_fd` is a bound, listening socket that the caller keeps open until Stop() returns.
  ConnectionLoop(int listen_fd, LoopOptions options, Handler handler);
  ~ConnectionLoop();  // calls Stop()
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  void Start();
  // Stops accepting and reading, lets running handlers finish, then closes every connection.
  void Stop();
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn;

  void EventThread();
  void WorkerThread();
  void AcceptAll();
  void OnEvent(Conn& c, uint32_t events);
  void Read(Conn& c);
  void Advance(Conn& c);
  bool Flush(Conn& c);  // true when nothing is left to send
  void Refuse(Conn& c, int status, const std::string& detail);
  void AfterAnswer(Conn& c);
  void StartLinger(Conn& c);
  void Discard(Conn& c);
  void TakeReturned();
  void Sweep(Clock::time_point now);
  void Close(Conn& c);
  bool EvictIdle();
  // A bound on what is buffered ahead of the request being framed; the kernel holds the rest.
  size_t ReadCap() const;

  const int listen_fd_;
  const LoopOptions options_;
  const Handler handler_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> open_{0};
  std::thread event_thread_;
  std::vector<std::thread> workers_;
  bool accept_paused_ = false;  // out of descriptors: the listening socket is out of epoll for a moment

  // Event thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = 2;  // 0: the listening socket, 1: the wake-up eventfd

  // Connections with a complete request, waiting for a worker.
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<Conn*> work_;
  bool workers_stop_ = false;
  // Connections whose answer a worker has produced, waiting for the event thread.
  std::mutex returned_mu_;
  std::vector<Conn*> returned_;
};

}  // namespace scimitar::http

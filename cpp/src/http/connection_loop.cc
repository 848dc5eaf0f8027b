#include "http/connection_loop.h"

#include <Poco/Net/SocketAddress.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "http/response_writer.h"

namespace scimitar::http {

namespace {

constexpr uint64_t kListenId = 0;
constexpr uint64_t kWakeId = 1;
constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kSweepEvery = std::chrono::milliseconds(100);

std::string Seconds(std::chrono::milliseconds ms) {
  std::string s = std::to_string(ms.count() / 1000);
  if (ms.count() % 1000) s += "." + std::to_string(ms.count() % 1000 + 1000).substr(1);
  return s;
}

[[noreturn]] void Fail(const char* what) { throw std::runtime_error(std::string(what) + ": " + std::strerror(errno)); }

std::string LocalAddress(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "localhost";
  try {
    return Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&addr), len).toString();
  } catch (...) {
    return "localhost";
  }
}

}  // namespace

struct ConnectionLoop::Conn {
  enum class Phase { Idle, Reading, Busy, Writing, Lingering };

  Conn(uint64_t id_, int fd_, const ParserLimits& limits) : id(id_), fd(fd_), parser(limits) {}

  const uint64_t id;
  const int fd;
  std::string local;  // host:port of our end, for Request::base when the client sent no Host
  Phase phase = Phase::Idle;
  Clock::time_point deadline;
  std::string in;     // received, not yet consumed
  RequestParser parser;
  std::string out;    // to send; out_done bytes of it are sent
  size_t out_done = 0;
  bool keep_alive = true;
  bool readable = false;   // an event arrived while a worker had the connection
  bool peer_closed = false;
  bool broken = false;     // a send failed: close without further ado
  size_t discarded = 0;
  Request request;         // the request a worker answers
};

ConnectionLoop::ConnectionLoop(int listen_fd, LoopOptions options, Handler handler)
    : listen_fd_(listen_fd), options_(std::move(options)), handler_(std::move(handler)) {}

ConnectionLoop::~ConnectionLoop() { Stop(); }

size_t ConnectionLoop::ReadCap() const {
  return options_.parser.max_header_bytes + options_.parser.max_body_bytes + kReadChunk;
}

void ConnectionLoop::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) Fail("epoll_create1");
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) Fail("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenId;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) Fail("epoll_ctl(listen)");
  ev.data.u64 = kWakeId;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) Fail("epoll_ctl(wake)");
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { WorkerThread(); });
  event_thread_ = std::thread([this] { EventThread(); });
}

void ConnectionLoop::Stop() {
  if (!event_thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  event_thread_.join();
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    workers_stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
  for (auto& [id, c] : conns_) close(c->fd);
  conns_.clear();
  open_ = 0;
  close(epoll_fd_);
  close(wake_fd_);
}

void ConnectionLoop::EventThread() {
  std::vector<epoll_event> events(256);
  Clock::time_point last_sweep = Clock::now();
  while (!stopping_) {
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                             static_cast<int>(kSweepEvery.count()));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[static_cast<size_t>(i)].data.u64;
      if (id == kListenId) {
        try {
          AcceptAll();
        } catch (...) {  // out of memory: the connection being accepted is dropped
        }
      } else if (id == kWakeId) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &count, sizeof count);
        TakeReturned();
      } else if (auto it = conns_.find(id); it != conns_.end()) {
        try {
          OnEvent(*it->second, events[static_cast<size_t>(i)].events);
        } catch (...) {  // out of memory, say: this connection goes, the others are served
          if (auto again = conns_.find(id); again != conns_.end() && again->second->phase != Conn::Phase::Busy)
            Close(*again->second);
        }
      }
    }
    const Clock::time_point now = Clock::now();
    if (now - last_sweep >= kSweepEvery) {
      last_sweep = now;
      Sweep(now);
    }
  }
}

void ConnectionLoop::WorkerThread() {
  for (;;) {
    Conn* c = nullptr;
    {
      std::unique_lock<std::mutex> lock(work_mu_);
      work_cv_.wait(lock, [&] { return workers_stop_ || !work_.empty(); });
      if (workers_stop_) return;
      c = work_.front();
      work_.pop_front();
    }
    try {
      service::Response response = handler_(c->request);
      AppendResponse(c->out, response, c->keep_alive, c->request.method == "HEAD");
    } catch (...) {
      c->broken = true;
    }
    c->request = Request{};
    // Most answers fit the socket's buffer: send now rather than through the event thread.
    while (!c->broken && c->out_done < c->out.size()) {
      const ssize_t sent = send(c->fd, c->out.data() + c->out_done, c->out.size() - c->out_done, MSG_NOSIGNAL);
      if (sent > 0) {
        c->out_done += static_cast<size_t>(sent);
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else {
        if (sent == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c->broken = true;
        break;
      }
    }
    bool wake;
    {
      std::lock_guard<std::mutex> lock(returned_mu_);
      wake = returned_.empty();
      returned_.push_back(c);
    }
    if (wake) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
    }
  }
}

void ConnectionLoop::AcceptAll() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && EvictIdle()) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // No descriptor to spare and nobody idle: stop listening until the next sweep.
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_paused_ = true;
      }
      return;
    }
    if (conns_.size() >= options_.max_connections && !EvictIdle()) {
      close(fd);
      continue;
    }
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto conn = std::make_unique<Conn>(next_id_++, fd, options_.parser);
    conn->local = LocalAddress(fd);
    conn->deadline = Clock::now() + options_.idle_timeout;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = conn->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    conns_.emplace(conn->id, std::move(conn));
    open_.store(conns_.size(), std::memory_order_relaxed);
  }
}

bool ConnectionLoop::EvictIdle() {
  Conn* oldest = nullptr;
  for (auto& [id, c] : conns_)
    if (c->phase == Conn::Phase::Idle && c->in.empty() && (!oldest || c->deadline < oldest->deadline))
      oldest = c.get();
  if (!oldest) return false;
  Close(*oldest);
  return true;
}

void ConnectionLoop::OnEvent(Conn& c, uint32_t events) {
  switch (c.phase) {
    case Conn::Phase::Busy:
      c.readable = true;  // looked at when the worker hands the connection back
      return;
    case Conn::Phase::Writing:
      if (events & (EPOLLIN | EPOLLRDHUP)) c.readable = true;
      if (Flush(c)) AfterAnswer(c);
      return;
    case Conn::Phase::Lingering:
      Discard(c);
      return;
    case Conn::Phase::Idle:
    case Conn::Phase::Reading:
      if (c.out_done < c.out.size() && !Flush(c)) return;  // an interim 100 Continue
      Read(c);
      return;
  }
}

void ConnectionLoop::Read(Conn& c) {
  const size_t cap = ReadCap();
  char buf[kReadChunk];
  while (c.in.size() < cap) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      c.peer_closed = true;
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      Close(c);
      return;
    }
  }
  if (c.in.size() >= cap) c.readable = true;  // resume after the buffered request is consumed
  Advance(c);
}

void ConnectionLoop::Advance(Conn& c) {
  if (c.in.empty() && c.peer_closed) {
    Close(c);
    return;
  }
  ParseStep step;
  try {
    step = c.parser.Parse(c.in, c.local);
  } catch (const std::exception& e) {  // the parser reports by value; this is a last line of defence
    Refuse(c, 400, std::string("malformed request: ") + e.what());
    return;
  }
  switch (step.state) {
    case ParseStep::State::NeedMore:
      // A request that fills the read bound unframed (a chunked body of tiny chunks, say) would
      // wait for bytes it never reads: refuse it as too large.
      if (c.in.size() >= ReadCap()) {
        Refuse(c, 413, "the request is larger than the server reads ahead for one request");
        return;
      }
      if (c.phase == Conn::Phase::Idle && c.parser.Started(c.in)) {
        c.phase = Conn::Phase::Reading;
        c.deadline = Clock::now() + options_.request_timeout;
      }
      if (c.peer_closed) {
        Close(c);
        return;
      }
      if (step.send_continue) {
        c.out = kContinue;
        c.out_done = 0;
        Flush(c);
      }
      return;
    case ParseStep::State::Reject:
      Refuse(c, step.status, step.detail);
      return;
    case ParseStep::State::Complete:
      break;
  }
  c.in.erase(0, step.consumed);
  c.parser.Reset();
  c.keep_alive = step.keep_alive && !c.peer_closed && !stopping_;
  c.request = std::move(step.request);
  if (c.out_done >= c.out.size()) {
    c.out.clear();
    c.out_done = 0;
  }
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    work_.push_back(&c);
    c.phase = Conn::Phase::Busy;  // only once a worker can have it
  }
  work_cv_.notify_one();
}

bool ConnectionLoop::Flush(Conn& c) {
  while (c.out_done < c.out.size()) {
    const ssize_t sent = send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
    if (sent > 0) {
      c.out_done += static_cast<size_t>(sent);
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    } else {
      Close(c);
      return false;
    }
  }
  return true;
}

void ConnectionLoop::Refuse(Conn& c, int status, const std::string& detail) {
  service::Response r = ErrorResponse(status, status == 400 ? "invalidSyntax" : "", detail);
  if (options_.on_refused) options_.on_refused(r, c.in.size());
  c.in.clear();
  c.keep_alive = false;
  c.out.clear();
  c.out_done = 0;
  AppendResponse(c.out, r, /*keep_alive=*/false, /*head_only=*/false);
  c.phase = Conn::Phase::Writing;
  c.deadline = Clock::now() + options_.write_timeout;
  if (Flush(c)) AfterAnswer(c);
}

void ConnectionLoop::AfterAnswer(Conn& c) {
  c.out.clear();
  c.out_done = 0;
  if (!c.keep_alive) {
    StartLinger(c);
    return;
  }
  c.phase = Conn::Phase::Idle;
  c.deadline = Clock::now() + options_.idle_timeout;
  // An idle connection keeps no large buffer from its last request.
  if (c.out.capacity() > kReadChunk) std::string().swap(c.out);
  if (c.in.empty() && c.in.capacity() > kReadChunk) std::string().swap(c.in);
  if (c.readable) {
    c.readable = false;
    Read(c);
  } else if (!c.in.empty() || c.peer_closed) {
    Advance(c);
  }
}

void ConnectionLoop::StartLinger(Conn& c) {
  // Half-close and read on: closing with unread bytes would reset the connection and could destroy
  // the answer before the client reads it.
  shutdown(c.fd, SHUT_WR);
  c.phase = Conn::Phase::Lingering;
  c.deadline = Clock::now() + options_.linger_timeout;
  c.discarded = 0;
  Discard(c);
}

void ConnectionLoop::Discard(Conn& c) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.discarded += static_cast<size_t>(n);
      if (c.discarded > options_.max_discard_bytes) break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      break;  // end of stream or error
    }
  }
  Close(c);
}

void ConnectionLoop::TakeReturned() {
  std::vector<Conn*> back;
  {
    std::lock_guard<std::mutex> lock(returned_mu_);
    back.swap(returned_);
  }
  for (Conn* c : back) {
    const uint64_t id = c->id;  // c may be gone by the time a handler below runs
    try {
      if (c->broken) {
        Close(*c);
        continue;
      }
      c->phase = Conn::Phase::Writing;
      c->deadline = Clock::now() + options_.write_timeout;
      if (Flush(*c)) AfterAnswer(*c);
    } catch (...) {  // out of memory, say: this connection goes
      if (auto it = conns_.find(id); it != conns_.end() && it->second->phase != Conn::Phase::Busy) Close(*it->second);
    }
  }
}

void ConnectionLoop::Sweep(Clock::time_point now) {
  if (accept_paused_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenId;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) == 0) accept_paused_ = false;
  }
  std::vector<Conn*> expired;
  for (auto& [id, c] : conns_)
    if (c->phase != Conn::Phase::Busy && now >= c->deadline) expired.push_back(c.get());
  for (Conn* c : expired) {
    const uint64_t id = c->id;
    try {
      if (c->phase == Conn::Phase::Reading)
        Refuse(*c, 408, "the request did not arrive within " + Seconds(options_.request_timeout) + " s");
      else
        Close(*c);
    } catch (...) {
      if (auto it = conns_.find(id); it != conns_.end()) Close(*it->second);
    }
  }
}

void ConnectionLoop::Close(Conn& c) {
  close(c.fd);  // also removes it from the epoll set
  conns_.erase(c.id);
  open_.store(conns_.size(), std::memory_order_relaxed);
}

}  // namespace scimitar::http

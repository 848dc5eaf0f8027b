// The SCIM HTTP server. Owns its worker threads; Poco types stay behind the pimpl.
// Thread-safety: Start/Stop may be called from any thread, but not concurrently with each other.
// Stop() is idempotent and returns only when no request handler is still running, so it must be
// called (with the Python GIL released) before the interpreter finalizes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "scimitar/store.h"

namespace scimitar {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0 picks a free port; see Server::port()
  int threads = 16;                  // worker threads (and maximum concurrent connections served)
  size_t max_body_bytes = 1 << 20;   // larger request bodies get 413
  int max_queued = 256;              // accepted connections waiting for a worker
  int keep_alive_seconds = 10;       // idle keep-alive connections are closed after this
  long long max_page_size = 1000;    // cap on count, advertised in /ServiceProviderConfig
};

class Server {
 public:
  // The store must outlive the server; shared ownership makes that hold for Python callers too.
  Server(std::shared_ptr<Store> store, ServerOptions options);
  ~Server();  // calls Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void Start();  // binds and starts serving; throws std::runtime_error if the address is unavailable
  void Stop();
  int port() const;  // the bound port (valid after Start)
  const std::string& host() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scimitar

// The SCIM HTTP server. Owns its event and worker threads; Poco and socket types stay behind the pimpl.
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
  int port = 8080;                    // 0 picks a free port; see Server::port()
  int threads = 16;                   // worker threads: requests handled at once (connections are not bounded by it)
  size_t max_connections = 10000;     // open connections; beyond it the longest-idle one is closed
  size_t max_body_bytes = 1 << 20;    // larger request bodies get 413
  size_t max_header_bytes = 16 << 10; // request line and header fields; more is 431
  size_t max_headers = 100;           // header fields; more is 431
  size_t max_uri_bytes = 8 << 10;     // request target; longer is 414
  int keep_alive_seconds = 10;        // idle keep-alive connections are closed after this
  int request_timeout_ms = 10000;     // a request's head and body must arrive within this: 408
  int write_timeout_ms = 30000;       // an answer must be taken by the client within this
  long long max_page_size = 1000;     // cap on count, advertised in /ServiceProviderConfig
  long long max_bulk_operations = 1000;
  long long max_patch_operations = 1000;
  int max_json_depth = 64;            // nesting of request bodies; deeper is 400 invalidSyntax
  // The request log (docs/operations.md): "json", "text" or "off"; written to log_path, or to
  // stderr when it is empty.
  std::string log_format = "off";
  std::string log_path;
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
  size_t open_connections() const;
  // Reopens the request log's file (after logrotate moved it; SIGUSR1 in `scimitar serve`).
  void ReopenLog();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scimitar

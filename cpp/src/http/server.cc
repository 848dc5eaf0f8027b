// Wires the SCIM router to the connection loop: binds the listening socket (Poco), raises the
// descriptor limit to what max_connections needs, turns any escaped exception into a 500, gives
// every answer its X-Request-Id and writes the request log.
#include "scimitar/server.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <sys/resource.h>

#include <chrono>
#include <mutex>

#include "http/connection_loop.h"
#include "http/request_log.h"
#include "http/router.h"

namespace scimitar {

namespace {

// Each connection is a descriptor; the default soft limit (often 1024) would refuse accepts long
// before max_connections. Raised up to the hard limit, never lowered.
void RaiseDescriptorLimit(size_t connections) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t want = static_cast<rlim_t>(connections) + 256;
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

struct Server::Impl {
  std::shared_ptr<Store> store;
  ServerOptions options;
  std::unique_ptr<http::Router> router;
  Poco::Net::ServerSocket socket;
  std::unique_ptr<http::ConnectionLoop> loop;
  std::unique_ptr<http::RequestLog> log;  // null: off
  int port = 0;
  std::mutex mu;
};

Server::Server(std::shared_ptr<Store> store, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->store = std::move(store);
  impl_->options = std::move(options);
  const ServerOptions& o = impl_->options;
  service::ServiceOptions so;
  so.max_page_size = o.max_page_size;
  so.max_body_bytes = o.max_body_bytes;
  so.max_bulk_operations = o.max_bulk_operations;
  so.max_patch_operations = o.max_patch_operations;
  so.max_json_depth = o.max_json_depth;
  impl_->router = std::make_unique<http::Router>(*impl_->store, so);
  if (o.log_format == "json" || o.log_format == "text")
    impl_->log = std::make_unique<http::RequestLog>(
        o.log_path, o.log_format == "json" ? http::RequestLog::Format::Json : http::RequestLog::Format::Text);
  else if (o.log_format != "off")
    throw std::invalid_argument("log_format must be json, text or off, not '" + o.log_format + "'");
}

Server::~Server() { Stop(); }

void Server::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->loop) return;
  const ServerOptions& o = impl_->options;
  RaiseDescriptorLimit(o.max_connections);
  impl_->socket = Poco::Net::ServerSocket();
  impl_->socket.bind(Poco::Net::SocketAddress(o.host, static_cast<Poco::UInt16>(o.port)), /*reuseAddress=*/true);
  impl_->socket.listen(1024);
  impl_->socket.setBlocking(false);
  impl_->port = impl_->socket.address().port();

  http::LoopOptions lo;
  lo.workers = o.threads;
  lo.max_connections = o.max_connections;
  lo.idle_timeout = std::chrono::seconds(o.keep_alive_seconds);
  lo.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  lo.write_timeout = std::chrono::milliseconds(o.write_timeout_ms);
  lo.linger_timeout = std::min(lo.request_timeout, std::chrono::milliseconds(5000));
  lo.max_discard_bytes = std::max<size_t>(64u << 20, 4 * o.max_body_bytes);
  lo.parser.max_body_bytes = o.max_body_bytes;
  lo.parser.max_header_bytes = o.max_header_bytes;
  lo.parser.max_headers = o.max_headers;
  lo.parser.max_uri_bytes = o.max_uri_bytes;
  const http::Router& router = *impl_->router;
  http::RequestLog* log = impl_->log.get();
  if (log) {
    lo.on_refused = [log](const service::Response& answer, size_t bytes_in) {
      try {
        http::RequestRecord r;
        r.request_id = http::RequestIdOf("");
        r.method = "-";  // not read whole: neither is known for sure
        r.path = "-";
        r.status = answer.status;
        r.scim_type = answer.trace.scim_type;
        r.bytes_in = bytes_in;
        r.bytes_out = answer.body.size();
        log->Write(r);
      } catch (...) {
      }
    };
  }
  impl_->loop = std::make_unique<http::ConnectionLoop>(
      impl_->socket.impl()->sockfd(), lo, [&router, log](const http::Request& request) -> service::Response {
        const auto started = std::chrono::steady_clock::now();
        auto id = request.headers.find("x-request-id");
        const std::string request_id = http::RequestIdOf(id == request.headers.end() ? "" : id->second);
        service::Response response;
        try {
          response = router.Dispatch(request);
        } catch (...) {
          response = http::ErrorResponse(500, "", "internal error");
        }
        response.headers["X-Request-Id"] = request_id;
        if (log) {
          try {
            http::RequestRecord r;
            r.request_id = request_id;
            r.org = response.trace.org;
            r.token_id = response.trace.token_id;
            r.method = request.method;
            r.path = request.path;
            r.status = response.status;
            r.scim_type = response.trace.scim_type;
            r.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started).count();
            r.bytes_in = request.body.size();
            r.bytes_out = response.body.size();
            log->Write(r);
          } catch (...) {  // a log that cannot be written never fails the answer
          }
        }
        return response;
      });
  impl_->loop->Start();
}

void Server::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->loop) return;
  impl_->loop->Stop();
  impl_->loop.reset();
  impl_->socket.close();
}

void Server::ReopenLog() {
  if (impl_->log) impl_->log->Reopen();
}

int Server::port() const { return impl_->port; }
const std::string& Server::host() const { return impl_->options.host; }
size_t Server::open_connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->loop ? impl_->loop->open_connections() : 0;
}

}  // namespace scimitar

// Poco adapter: the only code that sees Poco's HTTP types. Converts a Poco request into our Request
// (bounded body read), dispatches, and writes the Response. Catches everything: an exception that
// escaped a handler would make Poco close the connection without an answer.
#include "scimitar/server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <istream>
#include <mutex>

#include "http/router.h"
#include "scim/schema.h"

namespace scimitar {

namespace {

void Write(const service::Response& r, Poco::Net::HTTPServerResponse& out) {
  out.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  for (const auto& [k, v] : r.headers) out.set(k, v);
  if (r.body.empty() || r.status == 204 || r.status == 304) {
    out.setContentLength(0);
    out.send();
    return;
  }
  out.setContentType("application/scim+json");
  out.setContentLength(static_cast<std::streamsize>(r.body.size()));
  out.send().write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
}

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const http::Router& router, size_t max_body) : router_(router), max_body_(max_body) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    service::Response response;
    try {
      response = Handle(in);
    } catch (const std::exception& e) {
      response = http::ErrorResponse(400, "invalidSyntax", std::string("malformed request: ") + e.what());
    } catch (...) {
      response = http::ErrorResponse(500, "", "internal error");
    }
    // A body left unread would be parsed as the next request on this connection: close it.
    if (close_) out.setKeepAlive(false);
    try {
      Write(response, out);
    } catch (...) {
      // The client went away; nothing left to tell it.
    }
  }

 private:
  service::Response Handle(Poco::Net::HTTPServerRequest& in) {
    http::Request req;
    req.method = in.getMethod();
    Poco::URI uri(in.getURI());
    req.path = uri.getPath();
    for (const auto& [k, v] : uri.getQueryParameters()) req.query[k] = v;
    for (const auto& [k, v] : in) req.headers[scim::ToLower(k)] = v;
    std::string scheme = "http";
    if (auto it = req.headers.find("x-forwarded-proto"); it != req.headers.end() && it->second == "https") scheme = "https";
    req.base = scheme + "://" + (in.getHost().empty() ? in.serverAddress().toString() : in.getHost());

    if (in.hasContentLength() && in.getContentLength64() > static_cast<Poco::Int64>(max_body_)) {
      close_ = true;
      return TooLarge();
    }
    std::istream& body = in.stream();
    char buf[8192];
    while (body.read(buf, sizeof buf) || body.gcount() > 0) {
      req.body.append(buf, static_cast<size_t>(body.gcount()));
      if (req.body.size() > max_body_) {
        close_ = true;
        return TooLarge();
      }
    }
    return router_.Dispatch(req);
  }

  service::Response TooLarge() const {
    return http::ErrorResponse(413, "", "the request body is larger than " + std::to_string(max_body_) + " bytes");
  }

  const http::Router& router_;
  size_t max_body_;
  bool close_ = false;  // the request body was not read to its end
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const http::Router& router, size_t max_body) : router_(router), max_body_(max_body) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(router_, max_body_);  // never null: Poco would answer 501
  }

 private:
  const http::Router& router_;
  size_t max_body_;
};

}  // namespace

struct Server::Impl {
  std::shared_ptr<Store> store;
  ServerOptions options;
  std::unique_ptr<http::Router> router;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  int port = 0;
  std::mutex mu;
};

Server::Server(std::shared_ptr<Store> store, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->store = std::move(store);
  impl_->options = std::move(options);
  service::ServiceOptions so;
  so.max_page_size = impl_->options.max_page_size;
  so.max_body_bytes = impl_->options.max_body_bytes;
  impl_->router = std::make_unique<http::Router>(*impl_->store, so);
}

Server::~Server() { Stop(); }

void Server::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->server) return;
  const auto& o = impl_->options;
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress(o.host, static_cast<Poco::UInt16>(o.port)), /*reuseAddress=*/true);
  socket.listen(128);
  impl_->port = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(o.threads);
  params->setMaxQueued(o.max_queued);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(o.keep_alive_seconds, 0));
  params->setTimeout(Poco::Timespan(30, 0));
  params->setServerName("scimitar");
  impl_->pool = std::make_unique<Poco::ThreadPool>(2, o.threads + 1);
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_->router, o.max_body_bytes), *impl_->pool,
                                                          socket, params);
  impl_->server->start();
}

void Server::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->server) return;
  impl_->server->stopAll(/*abortCurrent=*/true);
  impl_->pool->joinAll();
  impl_->server.reset();
  impl_->pool.reset();
}

int Server::port() const { return impl_->port; }
const std::string& Server::host() const { return impl_->options.host; }

}  // namespace scimitar

// The ceiling for scimitar's HTTP layer: Poco's HTTPServer with the same settings as scimitar's
// (own ThreadPool sized threads+1, maxThreads, maxQueued, keep-alive), answering a fixed small JSON.
// Usage: bare_poco PORT THREADS  (PORT 0 picks one; the bound port is printed on stdout)
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

class Fixed final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& in, Poco::Net::HTTPServerResponse& out) override {
    in.stream().ignore(1 << 20);
    static const std::string body =
        R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]})";
    out.setContentType("application/scim+json");
    out.setContentLength(static_cast<std::streamsize>(body.size()));
    out.send() << body;
  }
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override { return new Fixed; }
};

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 0;
  int threads = argc > 2 ? std::atoi(argv[2]) : 16;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), true);
  socket.listen(128);
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(threads);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(Poco::Timespan(10, 0));
  params->setTimeout(Poco::Timespan(30, 0));
  Poco::ThreadPool pool(2, threads + 1);
  Poco::Net::HTTPServer server(new Factory, pool, socket, params);
  server.start();
  std::cout << socket.address().port() << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  server.stopAll(true);
  pool.joinAll();
  return 0;
}

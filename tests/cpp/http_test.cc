// The HTTP adapter over a real socket on 127.0.0.1: status codes and SCIM error documents for bad input.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>

#include <sstream>

#include "scimitar/server.h"
#include "test_support.h"

using namespace scimitar;
using json = nlohmann::json;

namespace {

struct Reply {
  int status;
  std::string content_type;
  std::string www_authenticate;
  std::string allow;
  json body;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::shared_ptr<Store>(Store::Open(StoreOptions{test::UrlFor("sqlite"), 4}));
    slug_ = test::UniqueSlug("h");
    org_ = store_->CreateOrg(slug_, "H").id;
    store_->CreateMember(org_, "o@h.test", "owner");
    token_ = store_->CreateToken(org_, "o@h.test", "", "").second;
    ServerOptions o;
    o.port = 0;
    o.threads = 4;
    o.max_body_bytes = 2048;
    server_ = std::make_unique<Server>(store_, o);
    server_->Start();
  }
  void TearDown() override { server_->Stop(); }

  Reply Send(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& token = "default") {
    Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (token == "default") {
      req.set("Authorization", "Bearer " + token_);
    } else if (!token.empty()) {
      req.set("Authorization", token);
    }
    if (!body.empty()) {
      req.setContentType("application/scim+json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    s.sendRequest(req) << body;
    Poco::Net::HTTPResponse res;
    std::istream& in = s.receiveResponse(res);
    std::stringstream text;
    text << in.rdbuf();
    Reply r{static_cast<int>(res.getStatus()), res.getContentType(), res.get("WWW-Authenticate", ""),
            res.get("Allow", ""), json::parse(text.str(), nullptr, false)};
    return r;
  }

  std::shared_ptr<Store> store_;
  std::unique_ptr<Server> server_;
  std::string slug_, token_;
  long long org_ = 0;
};

void ExpectError(const Reply& r, int status, const std::string& scim_type = "") {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.content_type, "application/scim+json");
  EXPECT_EQ(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
  EXPECT_EQ(r.body["status"], std::to_string(status));
  EXPECT_FALSE(r.body["detail"].get<std::string>().empty());
  if (!scim_type.empty()) {
    EXPECT_EQ(r.body["scimType"], scim_type);
  }
}

}  // namespace

TEST_F(HttpTest, AuthenticationIsRequiredAndAnnounced) {
  Reply r = Send("GET", "/scim/v2/Users", "", "");
  ExpectError(r, 401);
  EXPECT_NE(r.www_authenticate.find("Bearer"), std::string::npos);
  ExpectError(Send("GET", "/scim/v2/Users", "", "Bearer scim_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), 401);
  ExpectError(Send("GET", "/o/another-org/scim/v2/Users"), 401);
  EXPECT_EQ(Send("GET", "/o/" + slug_ + "/scim/v2/Users").status, 200);
}

TEST_F(HttpTest, UnknownPathsAndMethods) {
  ExpectError(Send("GET", "/nothing"), 404);
  ExpectError(Send("GET", "/scim/v2/Widgets"), 404);
  Reply r = Send("DELETE", "/scim/v2/Users");
  ExpectError(r, 405);
  EXPECT_EQ(r.allow, "GET, POST");
}

TEST_F(HttpTest, BadBodiesAreRefusedAndServingContinues) {
  ExpectError(Send("POST", "/scim/v2/Users", "{not json"), 400, "invalidSyntax");
  ExpectError(Send("POST", "/scim/v2/Users", R"({"userName":"x"})"), 400, "invalidValue");
  ExpectError(Send("POST", "/scim/v2/Users", R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]})"), 400,
              "invalidValue");
  ExpectError(Send("POST", "/scim/v2/Users", std::string(4096, ' ')), 413);
  ExpectError(Send("GET", "/scim/v2/Users?filter=userName%20eq"), 400, "invalidFilter");
  Reply ok = Send("POST", "/scim/v2/Users", R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"})");
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.content_type, "application/scim+json");
}

TEST_F(HttpTest, AnOversizedBodyClosesTheConnectionAndServingContinues) {
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
  std::string body(4096, 'x');
  Poco::Net::HTTPRequest big(Poco::Net::HTTPRequest::HTTP_POST, "/scim/v2/Users", Poco::Net::HTTPMessage::HTTP_1_1);
  big.set("Authorization", "Bearer " + token_);
  big.setContentType("application/scim+json");
  big.setContentLength(static_cast<std::streamsize>(body.size()));
  s.sendRequest(big) << body;
  Poco::Net::HTTPResponse res;
  s.receiveResponse(res).ignore(1 << 20);
  EXPECT_EQ(res.getStatus(), Poco::Net::HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE);
  EXPECT_FALSE(res.getKeepAlive());  // the unread body must not be taken for the next request
  Poco::Net::HTTPRequest next(Poco::Net::HTTPRequest::HTTP_GET, "/scim/v2/Users", Poco::Net::HTTPMessage::HTTP_1_1);
  next.set("Authorization", "Bearer " + token_);
  s.sendRequest(next);
  Poco::Net::HTTPResponse ok;
  s.receiveResponse(ok).ignore(1 << 20);
  EXPECT_EQ(ok.getStatus(), Poco::Net::HTTPResponse::HTTP_OK);
}

TEST_F(HttpTest, ScimSyncOffRefusesEverything) {
  store_->WriteSetting(org_, "scim_sync", "off", false);
  Reply r = Send("POST", "/scim/v2/Users", R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"y"})");
  ExpectError(r, 403);
  EXPECT_NE(r.body["detail"].get<std::string>().find("disabled"), std::string::npos);
  store_->WriteSetting(org_, "scim_sync", "on", false);
  EXPECT_EQ(Send("GET", "/scim/v2/Users?filter=userName%20eq%20%22y%22").body["totalResults"], 0);
}

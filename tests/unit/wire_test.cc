#include "server/wire.h"

#include <gtest/gtest.h>

#include "consent/v1/consent.pb.h"
#include "consent/v1/policy.pb.h"

namespace consentd {
namespace {

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Serializes with invalid UTF-8 the way a non-validating client would.
std::string Encode(const google::protobuf::Message& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

TEST(ParseRequest, ParsesValidMessages) {
  consent::v1::CheckCookieRequest in;
  in.set_subject_id("s-1");
  in.set_cookie_name("refreshToken");
  consent::v1::CheckCookieRequest out;
  ASSERT_TRUE(ParseRequest(Buffer(Encode(in)), &out).ok());
  EXPECT_EQ(out.subject_id(), "s-1");
}

TEST(ParseRequest, NamesTheFieldWithInvalidUtf8) {
  consent::v1::CheckCookieRequest in;
  in.set_subject_id("ok");
  in.set_cookie_name("bad\xFF");
  consent::v1::CheckCookieRequest out;
  const absl::Status s = ParseRequest(Buffer(Encode(in)), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cookie_name is not valid UTF-8");
}

TEST(ParseRequest, NamesMapKeysAndNestedFields) {
  consent::v1::RecordConsentRequest record;
  record.set_subject_id("s");
  (*record.mutable_choices())["stat\xC0"] = true;
  consent::v1::RecordConsentRequest out;
  EXPECT_EQ(ParseRequest(Buffer(Encode(record)), &out).message(),
            "choices.key is not valid UTF-8");

  consent::v1::PublishPolicyRequest publish;
  publish.mutable_policy()->set_version("v");
  publish.mutable_policy()->add_cookies()->set_name("fine");
  publish.mutable_policy()->add_cookies()->set_name("bad\xED\xA0\x80");
  consent::v1::PublishPolicyRequest out2;
  EXPECT_EQ(ParseRequest(Buffer(Encode(publish)), &out2).message(),
            "policy.cookies[1].name is not valid UTF-8");

  consent::v1::CheckCookiesRequest many;
  many.set_subject_id("s");
  many.add_cookie_names("a");
  many.add_cookie_names("b");
  many.add_cookie_names("\x80");
  consent::v1::CheckCookiesRequest out3;
  EXPECT_EQ(ParseRequest(Buffer(Encode(many)), &out3).message(),
            "cookie_names[2] is not valid UTF-8");
}

TEST(ParseRequest, GarbageIsInvalidArgument) {
  consent::v1::CheckCookieRequest out;
  const absl::Status s = ParseRequest(Buffer("\xFF\xFF\xFF"), &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("consent.v1.CheckCookieRequest"),
            absl::string_view::npos);
}

TEST(ParseRequest, MultiSliceBuffers) {
  consent::v1::CheckCookieRequest in;
  in.set_subject_id(std::string(300, 'x'));
  in.set_cookie_name("c");
  const std::string bytes = Encode(in);
  grpc::Slice parts[2] = {grpc::Slice(bytes.substr(0, 10)),
                          grpc::Slice(bytes.substr(10))};
  grpc::ByteBuffer buffer(parts, 2);
  consent::v1::CheckCookieRequest out;
  ASSERT_TRUE(ParseRequest(buffer, &out).ok());
  EXPECT_EQ(out.subject_id().size(), 300u);
}

}  // namespace
}  // namespace consentd

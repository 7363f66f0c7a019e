// Requests and responses on the wire. consentd registers its methods as raw
// (ByteBuffer) callback methods so that it parses requests itself: a proto3
// string field with invalid UTF-8 fails to parse, and gRPC would answer
// INTERNAL before any handler runs; here it is INVALID_ARGUMENT naming the
// field, as the contract requires.
#ifndef CONSENTD_SERVER_WIRE_H_
#define CONSENTD_SERVER_WIRE_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace consentd {

// Parses `raw` into `message`. InvalidArgument when it does not parse,
// naming the first string field that is not valid UTF-8 when that is why.
absl::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* message);

// Serializes `message` into `raw` and answers the status to finish the call
// with (OK, or INTERNAL if serialization failed).
grpc::Status SerializeResponse(const google::protobuf::Message& message,
                               grpc::ByteBuffer* raw);

// The path of the first string field of `descriptor` in the encoded
// `bytes` whose value is not valid UTF-8 ("policy.cookies[2].name",
// "choices.key"), or nullopt.
std::optional<std::string> FindInvalidUtf8Field(
    const google::protobuf::Descriptor* descriptor, absl::string_view bytes);

}  // namespace consentd

#endif  // CONSENTD_SERVER_WIRE_H_

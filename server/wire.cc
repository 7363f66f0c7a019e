#include "server/wire.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/validation.h"

namespace consentd {
namespace {

std::string Flatten(const grpc::ByteBuffer& raw) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!raw.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

}  // namespace

std::optional<std::string> FindInvalidUtf8Field(
    const google::protobuf::Descriptor* descriptor, absl::string_view bytes) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::nullopt;
  }
  absl::flat_hash_map<int, int> seen;  // field number -> occurrences so far
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    const google::protobuf::FieldDescriptor* fd =
        descriptor->FindFieldByNumber(f.number());
    if (fd == nullptr) continue;
    const int index = seen[f.number()]++;
    std::string path = fd->name();
    if (fd->is_repeated() && !fd->is_map())
      absl::StrAppend(&path, "[", index, "]");
    if (fd->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(f.length_delimited())) return path;
    } else if (fd->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      if (auto inner =
              FindInvalidUtf8Field(fd->message_type(), f.length_delimited())) {
        return absl::StrCat(path, ".", *inner);
      }
    }
  }
  return std::nullopt;
}

absl::Status ParseRequest(const grpc::ByteBuffer& raw,
                          google::protobuf::Message* message) {
  grpc::Slice slice;
  bool parsed;
  std::string flat;
  if (raw.TrySingleSlice(&slice).ok()) {
    parsed =
        message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
    if (!parsed)
      flat.assign(reinterpret_cast<const char*>(slice.begin()), slice.size());
  } else {
    flat = Flatten(raw);
    parsed = message->ParseFromString(flat);
  }
  if (parsed) return absl::OkStatus();
  if (std::optional<std::string> field =
          FindInvalidUtf8Field(message->GetDescriptor(), flat)) {
    return absl::InvalidArgumentError(
        absl::StrCat(*field, " is not valid UTF-8"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the request is not a valid ",
                   message->GetDescriptor()->full_name(), " message"));
}

grpc::Status SerializeResponse(const google::protobuf::Message& message,
                               grpc::ByteBuffer* raw) {
  bool own_buffer;
  return grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      message, raw, &own_buffer);
}

}  // namespace consentd

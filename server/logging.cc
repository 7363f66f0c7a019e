#include "server/logging.h"

#include <grpc/support/log.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>
#include <regex>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/json_text.h"
#include "server/handler.h"

namespace consentd {
namespace {

// Fields of the record being logged on this thread (the logger is
// synchronous: formatting happens in the caller's thread).
thread_local const std::vector<LogField>* tls_fields = nullptr;

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"";
    absl::StrAppend(
        &line,
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(msg.time),
                         absl::UTCTimeZone()),
        "\",\"level\":\"");
    const auto level = spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",\"msg\":";
    AppendJsonString(line,
                     absl::string_view(msg.payload.data(), msg.payload.size()));
    if (tls_fields != nullptr && !tls_fields->empty()) {
      line += ",\"fields\":{";
      for (size_t i = 0; i < tls_fields->size(); ++i) {
        if (i > 0) line += ",";
        AppendJsonString(line, (*tls_fields)[i].first);
        line += ":";
        AppendJsonString(line, (*tls_fields)[i].second);
      }
      line += "}";
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter()
      : base_("[%Y-%m-%d %H:%M:%S.%e] [%l] %v", spdlog::pattern_time_type::utc,
              "") {}
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    base_.format(msg, dest);
    if (tls_fields != nullptr) {
      std::string extra;
      for (const LogField& f : *tls_fields) {
        absl::StrAppend(&extra, " ", f.first, "=", f.second);
      }
      dest.append(extra.data(), extra.data() + extra.size());
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  spdlog::pattern_formatter base_;
};

// gRPC's own messages (a failed TLS handshake, say) through the same
// logger: by default gRPC writes them to stderr in its own format, which
// breaks "one JSON object a line".
void LogFromGrpc(gpr_log_func_args* args) {
  const spdlog::level::level_enum level =
      args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
      : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                : spdlog::level::debug;
  LogWithFields(level, args->message,
                {{"component", "grpc"},
                 {"source", absl::StrCat(args->file, ":", args->line)}});
}

}  // namespace

void ConfigureLogging(LogFormat format) {
  auto logger = std::make_shared<spdlog::logger>(
      "consentd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_formatter(std::make_unique<TextFormatter>());
  }
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  gpr_set_log_function(LogFromGrpc);
}

void LogWithFields(spdlog::level::level_enum level, absl::string_view message,
                   std::initializer_list<LogField> fields) {
  const std::vector<LogField> list(fields);
  tls_fields = &list;
  spdlog::log(level, "{}", message);
  tls_fields = nullptr;
}

void LogAccess(Rpc rpc, const grpc::Status& status, absl::Duration elapsed,
               double rate) {
  thread_local absl::BitGen gen;
  if (!absl::Bernoulli(gen, rate)) return;
  LogWithFields(
      spdlog::level::info, "access",
      {{"method", std::string(Info(rpc).full_method)},
       {"code", absl::StrCat(status.error_code())},
       {"duration_us", absl::StrCat(absl::ToInt64Microseconds(elapsed))}});
}

std::string RedactDatabaseUrl(absl::string_view url) {
  std::string out(url);
  // postgresql://user:password@host -> postgresql://user:***@host
  static const std::regex uri("(://[^:/@]*:)[^@]*@");
  out = std::regex_replace(out, uri, "$1***@");
  // password=secret (key=value form, or a URI parameter)
  static const std::regex kv("(password=)('([^'\\\\]|\\\\.)*'|[^ &]*)");
  return std::regex_replace(out, kv, "$1***");
}

}  // namespace consentd

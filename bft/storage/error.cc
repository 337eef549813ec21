// Names of storage error codes, and path helpers shared by the implementations.
#include "bft/storage/error.h"
#include "bft/storage/file_system.h"

namespace bastion::bft::storage {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

const char* errc_name(StorageErrc code) {
  switch (code) {
    case StorageErrc::kIo:
      return "io";
    case StorageErrc::kNotFound:
      return "not_found";
    case StorageErrc::kCorruption:
      return "corruption";
    case StorageErrc::kInvalidArgument:
      return "invalid_argument";
    case StorageErrc::kFailed:
      return "failed";
    case StorageErrc::kLocked:
      return "locked";
  }
  return "unknown";
}

std::string StorageError::to_string() const {
  return std::string(errc_name(code)) + ": " + message;
}

}  // namespace bastion::bft::storage

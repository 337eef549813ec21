// Errors of the replica storage: a stable code and a message for the operator.
//
// Every error a storage call returns is an operating error (the disk refused, bytes on disk fail
// verification, a record cannot be stored). Messages name the file and, for corruption, the byte
// offset, so an operator can inspect what stopped the replica. The codes are stable: logs,
// metrics and the daemon's exit status use them.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>

namespace bastion::bft::storage {

enum class StorageErrc : std::uint8_t {
  kIo = 1,               // the file system refused an operation (EIO, ENOSPC, permissions, ...)
  kNotFound = 2,         // a file or directory that must exist does not
  kCorruption = 3,       // bytes on disk fail verification, other than a torn tail (fail closed)
  kInvalidArgument = 4,  // a record that cannot be stored (too large, digest does not match)
  kFailed = 5,           // an earlier write or sync failed: the storage refuses further work
  kLocked = 6,           // another process holds the storage directory
};

const char* errc_name(StorageErrc code);

struct StorageError {
  StorageErrc code = StorageErrc::kIo;
  std::string message;

  // "corruption: <message>", for logs.
  std::string to_string() const;
};

}  // namespace bastion::bft::storage

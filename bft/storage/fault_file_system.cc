// FaultFileSystem: see fault_file_system.h for the crash and failure model.
#include "bft/storage/fault_file_system.h"

#include <algorithm>
#include <thread>

namespace bastion::bft::storage {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string normalize_dir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

StorageError dead_handle(const char* what) {
  return StorageError{StorageErrc::kIo, std::string(what) + ": handle died in a simulated crash"};
}

}  // namespace

class FaultFileSystem::File final : public WritableFile {
 public:
  File(FaultFileSystem& fs, std::string path, std::shared_ptr<Inode> inode)
      : fs_(fs), path_(std::move(path)), inode_(std::move(inode)), generation_(fs.generation_) {}

  Result<Done, StorageError> append(ByteView data) override {
    if (generation_ != fs_.generation_) return fail(dead_handle("append"));
    if (auto err = fs_.injected_failure("append", path_)) {
      // A short write: part of the bytes made it before the error.
      const std::size_t n = data.empty() ? 0 : fs_.rng_() % data.size();
      inode_->data.insert(inode_->data.end(), data.begin(),
                          data.begin() + static_cast<std::ptrdiff_t>(n));
      return fail(std::move(*err));
    }
    inode_->data.insert(inode_->data.end(), data.begin(), data.end());
    return Done{};
  }

  Result<Done, StorageError> sync() override {
    if (generation_ != fs_.generation_) return fail(dead_handle("sync"));
    if (auto err = fs_.injected_failure("fdatasync", path_)) return fail(std::move(*err));
    std::this_thread::sleep_for(fs_.sync_delay());
    inode_->durable_size = inode_->data.size();
    ++fs_.syncs_;
    return Done{};
  }

  std::uint64_t size() const override { return inode_->data.size(); }

 private:
  FaultFileSystem& fs_;
  std::string path_;
  std::shared_ptr<Inode> inode_;
  std::uint64_t generation_;
};

class FaultFileSystem::Lock final : public FileLock {
 public:
  Lock(FaultFileSystem& fs, std::string path)
      : fs_(fs), path_(std::move(path)), generation_(fs.generation_) {}
  ~Lock() override {
    if (generation_ == fs_.generation_) fs_.locks_.erase(path_);
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  FaultFileSystem& fs_;
  std::string path_;
  std::uint64_t generation_;
};

FaultFileSystem::FaultFileSystem(std::uint64_t seed) : rng_(seed) {}
FaultFileSystem::~FaultFileSystem() = default;

std::optional<StorageError> FaultFileSystem::injected_failure(const char* what,
                                                              const std::string& path) {
  bool failing = false;
  MutexLock lock(fault_mutex_);
  if (ok_calls_left_) {
    if (*ok_calls_left_ == 0) {
      failing = true;
    } else {
      --*ok_calls_left_;
    }
  }
  if (!failing && failure_probability_ > 0) {
    failing = std::uniform_real_distribution<double>(0, 1)(rng_) < failure_probability_;
  }
  if (!failing) return std::nullopt;
  return StorageError{StorageErrc::kIo, std::string(what) + " " + path + ": injected I/O error"};
}

Result<Done, StorageError> FaultFileSystem::check_dir_of(const std::string& path) const {
  const std::string dir = dir_of(path);
  if (!dirs_.contains(dir)) {
    return fail(StorageError{StorageErrc::kNotFound, "no directory " + dir + " for " + path});
  }
  return Done{};
}

void FaultFileSystem::fail_after(std::uint64_t ok_calls) {
  MutexLock lock(fault_mutex_);
  ok_calls_left_ = ok_calls;
}
void FaultFileSystem::set_failure_probability(double p) {
  MutexLock lock(fault_mutex_);
  failure_probability_ = p;
}
void FaultFileSystem::set_sync_delay(std::chrono::milliseconds delay) {
  MutexLock lock(fault_mutex_);
  sync_delay_ = delay;
}
std::chrono::milliseconds FaultFileSystem::sync_delay() {
  MutexLock lock(fault_mutex_);
  return sync_delay_;
}
void FaultFileSystem::heal() {
  MutexLock lock(fault_mutex_);
  ok_calls_left_.reset();
  failure_probability_ = 0;
}

void FaultFileSystem::tear(Inode& inode, CrashMode mode) {
  const std::size_t from = inode.durable_size;
  const std::size_t extra = inode.data.size() - from;
  std::size_t keep = 0;
  if (mode != CrashMode::kDropUnsynced && extra > 0) {
    switch (rng_() % 4) {  // favour the edges: nothing kept, everything kept
      case 0:
        keep = 0;
        break;
      case 1:
        keep = extra;
        break;
      default:
        keep = rng_() % (extra + 1);
    }
  }
  inode.data.resize(from + keep);
  if (mode == CrashMode::kTornGarbage && keep > 0) {
    const int ranges = 1 + static_cast<int>(rng_() % 3);
    for (int r = 0; r < ranges; ++r) {
      const std::size_t at = from + rng_() % keep;
      const std::size_t len = std::min<std::size_t>(1 + rng_() % 64, inode.data.size() - at);
      const bool zeros = rng_() % 2 == 0;
      for (std::size_t i = at; i < at + len; ++i) {
        inode.data[i] = zeros ? 0 : static_cast<std::uint8_t>(rng_());
      }
    }
  }
  inode.durable_size = inode.data.size();
}

void FaultFileSystem::crash(CrashMode mode) {
  for (auto& [dir, ops] : pending_) {
    const std::size_t kept = mode == CrashMode::kDropUnsynced ? 0 : rng_() % (ops.size() + 1);
    for (std::size_t i = 0; i < kept; ++i) {
      const DirOp& op = ops[i];
      switch (op.kind) {
        case DirOp::Kind::kLink:
          durable_[op.path] = op.inode;
          break;
        case DirOp::Kind::kUnlink:
          durable_.erase(op.path);
          break;
        case DirOp::Kind::kRename:
          durable_.erase(op.path);
          durable_[op.to_path] = op.inode;
          break;
      }
    }
  }
  pending_.clear();
  std::set<Inode*> torn;
  for (auto& [path, inode] : durable_) {
    if (torn.insert(inode.get()).second) tear(*inode, mode);
  }
  live_ = durable_;
  locks_.clear();
  ++generation_;
}

std::optional<Bytes> FaultFileSystem::file(const std::string& path) const {
  const auto it = live_.find(path);
  if (it == live_.end()) return std::nullopt;
  return it->second->data;
}

void FaultFileSystem::put_durable(const std::string& path, Bytes data) {
  auto it = live_.find(path);
  std::shared_ptr<Inode> inode;
  if (it == live_.end()) {
    inode = std::make_shared<Inode>();
    live_[path] = inode;
  } else {
    inode = it->second;
  }
  durable_[path] = inode;
  inode->data = std::move(data);
  inode->durable_size = inode->data.size();
}

std::vector<std::string> FaultFileSystem::files(const std::string& dir) const {
  const std::string d = normalize_dir(dir);
  std::vector<std::string> out;
  for (const auto& [path, inode] : live_) {
    if (dir_of(path) == d) out.push_back(name_of(path));
  }
  return out;
}

std::uint64_t FaultFileSystem::bytes_in(const std::string& dir) const {
  const std::string d = normalize_dir(dir);
  std::uint64_t total = 0;
  for (const auto& [path, inode] : live_) {
    if (dir_of(path) == d) total += inode->data.size();
  }
  return total;
}

Result<std::unique_ptr<WritableFile>, StorageError> FaultFileSystem::create(
    const std::string& path) {
  if (auto r = check_dir_of(path); !r) return fail(std::move(r).error());
  if (auto err = injected_failure("create", path)) return fail(std::move(*err));
  auto inode = std::make_shared<Inode>();
  live_[path] = inode;
  pending_[dir_of(path)].push_back(DirOp{DirOp::Kind::kLink, path, {}, inode});
  return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, path, inode));
}

Result<std::unique_ptr<WritableFile>, StorageError> FaultFileSystem::open_append(
    const std::string& path) {
  const auto it = live_.find(path);
  if (it == live_.end()) {
    return fail(StorageError{StorageErrc::kNotFound, "open " + path + ": no such file"});
  }
  return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, path, it->second));
}

Result<Bytes, StorageError> FaultFileSystem::read_all(const std::string& path,
                                                      std::uint64_t bytes_max) {
  const auto it = live_.find(path);
  if (it == live_.end()) {
    return fail(StorageError{StorageErrc::kNotFound, "open " + path + ": no such file"});
  }
  if (it->second->data.size() > bytes_max) {
    return fail(StorageError{StorageErrc::kInvalidArgument,
                             "read " + path + ": " + std::to_string(it->second->data.size()) +
                                 " bytes, more than the limit of " + std::to_string(bytes_max)});
  }
  return it->second->data;
}

Result<std::vector<std::string>, StorageError> FaultFileSystem::list(const std::string& dir) {
  const std::string d = normalize_dir(dir);
  if (!dirs_.contains(d)) {
    return fail(StorageError{StorageErrc::kNotFound, "opendir " + d + ": no such directory"});
  }
  return files(d);
}

Result<Done, StorageError> FaultFileSystem::rename(const std::string& from, const std::string& to) {
  const auto it = live_.find(from);
  if (it == live_.end()) {
    return fail(StorageError{StorageErrc::kNotFound, "rename " + from + ": no such file"});
  }
  if (dir_of(from) != dir_of(to)) {
    return fail(StorageError{StorageErrc::kInvalidArgument,
                             "rename " + from + " -> " + to + ": across directories"});
  }
  if (auto err = injected_failure("rename", from)) return fail(std::move(*err));
  auto inode = it->second;
  live_.erase(it);
  live_[to] = inode;
  pending_[dir_of(from)].push_back(DirOp{DirOp::Kind::kRename, from, to, inode});
  return Done{};
}

Result<Done, StorageError> FaultFileSystem::remove(const std::string& path) {
  const auto it = live_.find(path);
  if (it == live_.end()) {
    return fail(StorageError{StorageErrc::kNotFound, "unlink " + path + ": no such file"});
  }
  if (auto err = injected_failure("unlink", path)) return fail(std::move(*err));
  live_.erase(it);
  pending_[dir_of(path)].push_back(DirOp{DirOp::Kind::kUnlink, path, {}, nullptr});
  return Done{};
}

Result<Done, StorageError> FaultFileSystem::truncate(const std::string& path, std::uint64_t size) {
  const auto it = live_.find(path);
  if (it == live_.end()) {
    return fail(StorageError{StorageErrc::kNotFound, "truncate " + path + ": no such file"});
  }
  if (auto err = injected_failure("truncate", path)) return fail(std::move(*err));
  Inode& inode = *it->second;
  inode.data.resize(static_cast<std::size_t>(size), 0);
  inode.durable_size = inode.data.size();
  return Done{};
}

Result<Done, StorageError> FaultFileSystem::sync_dir(const std::string& dir) {
  const std::string d = normalize_dir(dir);
  if (!dirs_.contains(d)) {
    return fail(StorageError{StorageErrc::kNotFound, "open " + d + ": no such directory"});
  }
  if (auto err = injected_failure("fsync", d)) return fail(std::move(*err));
  ++dir_syncs_;
  auto it = pending_.find(d);
  if (it == pending_.end()) return Done{};
  for (const DirOp& op : it->second) {
    switch (op.kind) {
      case DirOp::Kind::kLink:
        durable_[op.path] = op.inode;
        break;
      case DirOp::Kind::kUnlink:
        durable_.erase(op.path);
        break;
      case DirOp::Kind::kRename:
        durable_.erase(op.path);
        durable_[op.to_path] = op.inode;
        break;
    }
  }
  pending_.erase(it);
  return Done{};
}

Result<Done, StorageError> FaultFileSystem::create_dir(const std::string& dir) {
  std::string d = normalize_dir(dir);
  // Parents too, like mkdir -p.
  while (!d.empty() && !dirs_.contains(d)) {
    dirs_.insert(d);
    d = dir_of(d);
  }
  return Done{};
}

Result<std::unique_ptr<FileLock>, StorageError> FaultFileSystem::lock(const std::string& path) {
  if (auto r = check_dir_of(path); !r) return fail(std::move(r).error());
  if (!locks_.insert(path).second) {
    return fail(StorageError{StorageErrc::kLocked, "lock " + path + ": held by another holder"});
  }
  return std::unique_ptr<FileLock>(std::make_unique<Lock>(*this, path));
}

}  // namespace bastion::bft::storage

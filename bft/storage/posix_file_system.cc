// The FileSystem on POSIX calls (see file_system.h for the contract).
//
// Every call retries on EINTR and loops over short reads and writes; errors carry the path and
// strerror(errno). Locks are flock(2) locks on a file, released when the descriptor closes, so a
// crashed holder never leaves the directory locked.
//
// Replica data is private to the account that runs the replica: files are created 0600 and
// directories 0700 whatever the umask (the mode is set with fchmod/chmod after creation, since the
// umask narrows the mode given to open/mkdir but may also be one that leaves it wrong), and a file
// that grants any permission to the group or to others is refused when it is read or reopened,
// with the command that fixes it.
//
// Thread-safety: stateless; safe from any thread. A PosixWritableFile is used by one thread.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bft/storage/file_system.h"

namespace bastion::bft::storage {
namespace {

StorageError errno_error(const char* what, const std::string& path, int err) {
  const StorageErrc code = err == ENOENT ? StorageErrc::kNotFound : StorageErrc::kIo;
  return StorageError{code, std::string(what) + " " + path + ": " + std::strerror(err)};
}

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

int open_retry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

std::string octal_mode(mode_t mode) {
  static constexpr char kDigits[] = "01234567";
  std::string out = "0";
  for (int shift = 6; shift >= 0; shift -= 3) out.push_back(kDigits[(mode >> shift) & 7]);
  return out;
}

// Refuses a file the group or others may access: replica data is private (see the top).
Result<Done, StorageError> check_private(const std::string& path, const struct stat& st) {
  if ((st.st_mode & 077) == 0) return Done{};
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return fail(StorageError{StorageErrc::kIo,
                           path + ": mode " + octal_mode(st.st_mode & 0777) +
                               " lets other users read or change replica data; refusing to use it. "
                               "Fix: chmod 600 " +
                               path + " (every file of the data directory: chmod -R go= " + dir +
                               ")"});
}

// Closes a descriptor on scope exit.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, std::uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override { ::close(fd_); }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Result<Done, StorageError> append(ByteView data) override {
    const std::uint8_t* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno_error("write", path_, errno));
      }
      p += n;
      left -= static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
    }
    return Done{};
  }

  Result<Done, StorageError> sync() override {
    int rc;
    do {
      rc = ::fdatasync(fd_);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return fail(errno_error("fdatasync", path_, errno));
    return Done{};
  }

  std::uint64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  std::uint64_t size_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>, StorageError> create(const std::string& path) override {
    FdGuard fd(open_retry(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, kFileMode));
    if (fd.get() < 0) return fail(errno_error("create", path, errno));
    // Also narrows a file that existed with a wider mode (O_CREAT keeps an existing file's mode).
    if (::fchmod(fd.get(), kFileMode) != 0) return fail(errno_error("fchmod", path, errno));
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(path, fd.release(), 0));
  }

  Result<std::unique_ptr<WritableFile>, StorageError> open_append(
      const std::string& path) override {
    FdGuard fd(open_retry(path.c_str(), O_WRONLY | O_APPEND));
    if (fd.get() < 0) return fail(errno_error("open", path, errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(errno_error("fstat", path, errno));
    if (auto r = check_private(path, st); !r) return fail(std::move(r).error());
    const auto size = static_cast<std::uint64_t>(st.st_size);
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(path, fd.release(), size));
  }

  Result<Bytes, StorageError> read_all(const std::string& path, std::uint64_t bytes_max) override {
    FdGuard fd(open_retry(path.c_str(), O_RDONLY));
    if (fd.get() < 0) return fail(errno_error("open", path, errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(errno_error("fstat", path, errno));
    if (auto r = check_private(path, st); !r) return fail(std::move(r).error());
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > bytes_max) {
      return fail(StorageError{StorageErrc::kInvalidArgument,
                               "read " + path + ": " + std::to_string(size) +
                                   " bytes, more than the limit of " + std::to_string(bytes_max)});
    }
    Bytes out(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno_error("read", path, errno));
      }
      if (n == 0) break;  // the file shrank under us: return what is there
      done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return out;
  }

  Result<std::vector<std::string>, StorageError> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return fail(errno_error("opendir", dir, errno));
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        names.push_back(name);
      }
      errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return fail(errno_error("readdir", dir, err));
    return names;
  }

  Result<Done, StorageError> rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return fail(errno_error("rename", from + " -> " + to, errno));
    }
    return Done{};
  }

  Result<Done, StorageError> remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return fail(errno_error("unlink", path, errno));
    return Done{};
  }

  Result<Done, StorageError> truncate(const std::string& path, std::uint64_t size) override {
    FdGuard fd(open_retry(path.c_str(), O_WRONLY));
    if (fd.get() < 0) return fail(errno_error("open", path, errno));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
      return fail(errno_error("ftruncate", path, errno));
    }
    int rc;
    do {
      rc = ::fsync(fd.get());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return fail(errno_error("fsync", path, errno));
    return Done{};
  }

  Result<Done, StorageError> sync_dir(const std::string& dir) override {
    FdGuard fd(open_retry(dir.c_str(), O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return fail(errno_error("open", dir, errno));
    int rc;
    do {
      rc = ::fsync(fd.get());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return fail(errno_error("fsync", dir, errno));
    return Done{};
  }

  // Creates the missing directories of the path, each 0700; existing ones are left as they are.
  Result<Done, StorageError> create_dir(const std::string& dir) override {
    std::filesystem::path partial;
    for (const std::filesystem::path& part : std::filesystem::path(dir)) {
      partial /= part;
      if (part.empty() || part == "/" || part == "." || part == "..") continue;
      const std::string p = partial.string();
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      if (::mkdir(p.c_str(), kDirMode) != 0) {
        const int err = errno;
        if (err == EEXIST && ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
        return fail(errno_error("create directory", p, err));
      }
      if (::chmod(p.c_str(), kDirMode) != 0) return fail(errno_error("chmod", p, errno));
    }
    return Done{};
  }

  Result<std::unique_ptr<FileLock>, StorageError> lock(const std::string& path) override {
    FdGuard fd(open_retry(path.c_str(), O_RDWR | O_CREAT, kFileMode));
    if (fd.get() < 0) return fail(errno_error("open", path, errno));
    if (::fchmod(fd.get(), kFileMode) != 0) return fail(errno_error("fchmod", path, errno));
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      if (errno == EWOULDBLOCK) {
        return fail(
            StorageError{StorageErrc::kLocked, "lock " + path + ": held by another process"});
      }
      return fail(errno_error("flock", path, errno));
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd.release()));
  }
};

}  // namespace

FileSystem& posix_file_system() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace bastion::bft::storage

// Clang's thread-safety analysis (-Wthread-safety, on in every Clang build: CMake adds it, and
// test.sh's sanitizer build uses Clang): the annotation macros, and a mutex, a scoped lock and a
// condition variable it understands (libstdc++'s std::mutex carries no annotations, so state
// guarded by one is not checked).
//
//   Mutex mutex_;
//   int count_ BASTION_GUARDED_BY(mutex_);
//   void bump() { MutexLock lock(mutex_); ++count_; }     // fine
//   int peek() { return count_; }                          // compile error under Clang
//
// Waiting: `while (!ready_) wake_.wait(lock);` keeps the condition inside the locked scope, where
// the analysis sees it (a predicate lambda would be analysed as a function of its own). Other
// compilers see plain std::mutex, std::unique_lock and std::condition_variable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define BASTION_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define BASTION_THREAD_ANNOTATION(x)
#endif

#define BASTION_CAPABILITY(name) BASTION_THREAD_ANNOTATION(capability(name))
#define BASTION_SCOPED_CAPABILITY BASTION_THREAD_ANNOTATION(scoped_lockable)
#define BASTION_GUARDED_BY(m) BASTION_THREAD_ANNOTATION(guarded_by(m))
#define BASTION_REQUIRES(...) BASTION_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define BASTION_ACQUIRE(...) BASTION_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define BASTION_RELEASE(...) BASTION_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define BASTION_EXCLUDES(...) BASTION_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace bastion {

class BASTION_CAPABILITY("mutex") Mutex {
 public:
  void lock() BASTION_ACQUIRE() { m_.lock(); }
  void unlock() BASTION_RELEASE() { m_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex m_;
};

// Holds `m` for its scope; unlock() and lock() release and retake it inside the scope (around
// slow work), and the destructor releases it if held.
class BASTION_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& m) BASTION_ACQUIRE(m) : lock_(m.m_) {}
  ~MutexLock() BASTION_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() BASTION_RELEASE() { lock_.unlock(); }
  void lock() BASTION_ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

class CondVar {
 public:
  // Releases the lock while waiting and holds it again on return (spurious wake-ups included).
  void wait(MutexLock& lock) { cv_.wait(lock.lock_); }
  std::cv_status wait_until(MutexLock& lock, std::chrono::steady_clock::time_point deadline) {
    return cv_.wait_until(lock.lock_, deadline);
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace bastion

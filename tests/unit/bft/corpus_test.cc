// Writes the seed corpora of the bft fuzz targets (tests/fuzz/corpus/bft_*) when
// BASTION_WRITE_CORPUS names the corpus directory; skipped otherwise. The seeds are the sample
// messages (one per type) and recorded event streams of replica 1 in scripted runs (normal case,
// view change, checkpoints), in replica_fuzz.cc's input format.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/bft/harness.h"
#include "tests/unit/bft/sample_messages.h"

namespace bastion::bft::test {
namespace {

void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Event stream of replica 1 in replica_fuzz.cc's format.
class Recorder {
 public:
  void message(std::uint8_t kind, std::uint8_t arg, const Bytes& bytes) {
    const std::size_t len = std::min<std::size_t>(bytes.size(), 0xffff);
    out.push_back(kind);
    out.push_back(arg);
    out.push_back(static_cast<std::uint8_t>(len));
    out.push_back(static_cast<std::uint8_t>(len >> 8));
    out.insert(out.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
  }
  void tick(std::uint8_t ms) { message(2, ms, {}); }
  Bytes out;
};

Bytes record(const std::function<void(Cluster&, Recorder&)>& scenario) {
  Cluster c([](Config& cfg) { cfg.log_window = 8; });
  Recorder rec;
  c.filter = [&](const Envelope& e) {
    if (e.to == 1) rec.message(0, static_cast<std::uint8_t>(e.from), *e.bytes);
    return true;
  };
  scenario(c, rec);
  return rec.out;
}

void request(Cluster& c, Recorder& rec, std::uint64_t number, const std::string& payload) {
  const Bytes bytes = client_request_bytes(1, number, payload);
  rec.message(1, 0, bytes);  // replica_fuzz.cc names client 0 "c0"
  for (ReplicaId i = 0; i < c.n(); ++i) c.inject_client("c0", i, bytes);
  c.deliver();
}

TEST(FuzzCorpus, Write) {
  const char* dir = std::getenv("BASTION_WRITE_CORPUS");
  if (dir == nullptr) GTEST_SKIP() << "set BASTION_WRITE_CORPUS to the corpus directory";
  const std::filesystem::path root(dir);
  for (const Message& m : sample_messages()) {
    const Bytes bytes = encode_message(m);
    const std::string type = type_name(type_of(m));
    write_file(root / ("bft_" + type) / "sample", Bytes(bytes.begin() + 2, bytes.end()));
  }
  write_file(root / "bft_replica" / "normal_case", record([](Cluster& c, Recorder& rec) {
               for (std::uint64_t k = 1; k <= 5; ++k)
                 request(c, rec, k, "put x " + std::to_string(k));
               request(c, rec, 6, "w");
             }));
  write_file(root / "bft_replica" / "checkpoints", record([](Cluster& c, Recorder& rec) {
               for (std::uint64_t k = 1; k <= 12; ++k)
                 request(c, rec, k, "put y " + std::to_string(k));
             }));
  write_file(root / "bft_replica" / "view_change", record([](Cluster& c, Recorder& rec) {
               request(c, rec, 1, "put z 1");
               c.crash(0);
               request(c, rec, 2, "put z 2");
               for (int k = 0; k < 20; ++k) {
                 c.advance(100'000);
                 rec.tick(100);
               }
             }));
}

}  // namespace
}  // namespace bastion::bft::test

// Fuzz target: arbitrary bytes as the log segment of a storage directory, through recovery.
//
// Recovery must never crash, hang or allocate more than the bytes justify: it returns records or
// an error. When it returns records, the storage it opened must work: a record appended and
// synced after recovery is found, with everything recovered before it, by the next recovery.
//
// Input: first byte = mode (low 2 bits) and tail cut (high 6 bits), then
//   mode 0: the whole segment file, header included;
//   mode 1: a valid header, then the bytes as the frame area;
//   mode 2, 3: a valid header, then chunks [length u16 LE][payload], each framed with a valid
//           checksum (so payload decoding is exercised), as one group (2) or a group per chunk
//           (3); the tail cut then removes that many bytes from the end (a torn write).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bft/storage/fault_file_system.h"
#include "bft/storage/log_entry.h"
#include "bft/storage/replica_storage.h"
#include "bft/storage/segment.h"

namespace {

using bastion::bft::storage::Bytes;
using bastion::bft::storage::ByteView;
using namespace bastion::bft::storage;

constexpr const char* kDir = "/fuzz";

Bytes build_segment(const std::uint8_t* data, std::size_t size) {
  const std::uint8_t mode = data[0] & 3;
  const std::size_t cut = data[0] >> 2;
  const ByteView in(data + 1, size - 1);
  if (mode == 0) return Bytes(in.begin(), in.end());
  Salt salt;
  salt.fill(0x5a);
  Bytes file = SegmentBuilder(SegmentKind::kBase, 1, salt).seal();
  if (mode == 1) {
    file.insert(file.end(), in.begin(), in.end());
    return file;
  }
  std::size_t pos = 0;
  std::uint64_t group = file.size();
  while (pos + 2 <= in.size()) {
    std::size_t len = in[pos] | (static_cast<std::size_t>(in[pos + 1]) << 8);
    pos += 2;
    len = std::min(len, in.size() - pos);
    if (mode == 3) group = file.size();
    Bytes frame;
    FrameWriter writer(frame, file.size(), group, salt);
    const std::size_t at = writer.begin();
    frame.insert(frame.end(), in.begin() + static_cast<std::ptrdiff_t>(pos),
                 in.begin() + static_cast<std::ptrdiff_t>(pos + len));
    writer.end(at);
    file.insert(file.end(), frame.begin(), frame.end());
    pos += len;
  }
  file.resize(file.size() - std::min(cut, file.size() - kSegmentHeaderBytes));
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Bytes file = build_segment(data, size);
  StorageOptions options;
  options.record_bytes_max = 1 << 16;
  options.checkpoint_bytes_max = 1 << 16;

  // The format layer alone, as a middle and as a last segment.
  (void)scan_segment(file, false, options.record_bytes_max);
  (void)scan_segment(file, true, options.record_bytes_max);

  // Whole recovery.
  FaultFileSystem fs(1);
  if (!fs.create_dir(kDir).ok()) std::abort();
  fs.put_durable(join_path(kDir, segment_file_name(1)), file);
  auto opened = ReplicaStorage::open(fs, kDir, options);
  if (!opened.ok()) return 0;
  const std::size_t recovered = opened->records.size();
  if (!opened->storage->append(bastion::bft::ViewRecord{7, false}).ok()) std::abort();
  if (!opened->storage->sync().ok()) std::abort();
  opened->storage.reset();
  fs.crash(FaultFileSystem::CrashMode::kDropUnsynced);
  auto again = ReplicaStorage::open(fs, kDir, options);
  if (!again.ok()) std::abort();  // a storage that recovered once must recover again
  // Compaction may have folded the log; never may it have lost the record just synced.
  if (again->records.empty() || again->records.size() > recovered + 1) std::abort();
  const auto* view = std::get_if<bastion::bft::ViewRecord>(&again->records.back());
  if (view == nullptr || view->view != 7) {
    // The last record is the view unless compaction reordered: the view must be somewhere.
    bool found = false;
    for (const auto& r : again->records) {
      const auto* v = std::get_if<bastion::bft::ViewRecord>(&r);
      found |= v != nullptr && v->view == 7;
    }
    if (!found) std::abort();
  }
  return 0;
}

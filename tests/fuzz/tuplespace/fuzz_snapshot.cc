// Fuzz target: Engine::restore() on arbitrary bytes (a snapshot is hostile input when it comes
// from another replica). It must never crash or leak; an accepted snapshot must re-encode to the
// same bytes (the format is canonical; an old-format one, to a current one that does), its digest
// must be the hash of those bytes, and the restored engine must stay usable (its rebuilt indexes
// answer queries and survive time passing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "codec/digest.h"
#include "tuplespace/engine.h"

using namespace bastion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto restored = ts::Engine::restore(codec::ByteView(data, size));
  if (!restored) return 0;
  ts::Engine& engine = *restored;
  const codec::Bytes again = engine.snapshot();
  if (data[0] != ts::kSnapshotVersion) {
    // An old format is read and written back in the current one, which must restore to the
    // same encoding.
    auto current = ts::Engine::restore(again);
    if (!current || current->snapshot() != again) std::abort();
  } else if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
    std::abort();
  }
  if (engine.digest() != codec::blake2b(again)) std::abort();

  // Exercise the rebuilt indexes: read and remove everything visible, then let time pass.
  const auto list = engine.execute_read_only({"fuzz", 1, 1, engine.now_ms()}, ts::SpaceList{});
  std::uint64_t request = 2;
  for (const ts::SpaceInfo& s : std::get<ts::Spaces>(list.reply).spaces) {
    for (std::uint32_t arity = 1; arity <= s.options.fields_max && arity <= 4; ++arity) {
      const ts::Template any(arity, ts::Pattern::any());
      engine.execute({"fuzz", 1, request++, engine.now_ms()}, ts::RdAll{s.name, any, 0});
      engine.execute({"fuzz", 1, request++, engine.now_ms()}, ts::InAll{s.name, any, 0});
    }
  }
  if (auto next = engine.next_deadline()) engine.advance(*next);
  engine.cancel_session("fuzz", 1);
  return 0;
}

// Fuzz target: the Request decoder on arbitrary bytes. It must never crash nor allocate more than
// 16 times the input (plus a small constant); an accepted request
// must re-encode to the same bytes; and executing it against a small engine (as a server would
// after decoding) must not crash either, whatever the arguments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tests/support/alloc_meter.h"
#include "tuplespace/engine.h"

using namespace bastion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t peak = 0;
  auto request = [&] {
    testing::AllocPeak meter;
    auto r = ts::decode_request(codec::ByteView(data, size));
    peak = meter.bytes();
    return r;
  }();
  if (peak > 16 * size + (64 << 10)) std::abort();
  if (!request) return 0;
  const codec::Bytes again = ts::encode_request(*request);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();

  ts::Engine engine;
  ts::SpaceOptions small;
  small.tuples_max = 8;
  small.waiters_per_client_max = 2;
  engine.execute({"admin", 1, 1, 10}, ts::SpaceCreate{"s", small});
  engine.execute({"admin", 1, 2, 10}, ts::Out{"s", {{ts::Value("x"), ts::Value(1)}, 5, {}, {}}});
  const ts::Context ctx{"fuzz", 1, 3, 11};
  const ts::Outcome first = engine.execute(ctx, *request);
  if (ts::read_only(*request)) {
    // Read-only execution must agree with ordered execution at the same time.
    const ts::Outcome again_ro = engine.execute_read_only({"fuzz", 1, 4, 11}, *request);
    if (!(again_ro.reply == first.reply)) std::abort();
  }
  // The encoded outcome must decode to itself.
  auto back = ts::decode_outcome(ts::encode_outcome(first));
  if (!back || !(*back == first)) std::abort();
  engine.advance(1'000'000);
  return 0;
}

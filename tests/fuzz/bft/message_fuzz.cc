// Fuzz target for one message type (BASTION_FUZZ_MSG_TYPE, a MsgType value): the input is a
// message body; the envelope (version, type) is prepended. Whatever decodes must re-encode to
// exactly the input (the wire format is canonical); nothing may crash, and decoding may not
// allocate more than 16 times the input (plus a small constant): claimed counts cost nothing.
#include <cstdint>
#include <cstdlib>

#include "bft/core/messages.h"
#include "tests/support/alloc_meter.h"

#ifndef BASTION_FUZZ_MSG_TYPE
#error "BASTION_FUZZ_MSG_TYPE must name the MsgType value under test"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bastion::bft;
  Bytes bytes;
  bytes.reserve(size + 2);
  bytes.push_back(kWireVersion);
  bytes.push_back(static_cast<std::uint8_t>(BASTION_FUZZ_MSG_TYPE));
  bytes.insert(bytes.end(), data, data + size);
  std::size_t peak = 0;
  auto decoded = [&] {
    bastion::testing::AllocPeak meter;
    auto r = decode_message(bytes);
    peak = meter.bytes();
    return r;
  }();
  if (peak > 16 * bytes.size() + (64 << 10)) std::abort();
  if (!decoded) return 0;
  if (static_cast<int>(type_of(*decoded)) != BASTION_FUZZ_MSG_TYPE) std::abort();
  if (encode_message(*decoded) != bytes) std::abort();
  return 0;
}

// Fuzz target: the policy sandbox on arbitrary scripts and requests. The input is a script,
// optionally followed by "\n@@\n" and the bytes of an encoded request (ts::encode_request); without
// them (or when they do not decode to an operation a policy decides) the request is an out of a
// tuple made from the input's length.
//
// Nothing may crash, hang or leak; every evaluation stays within its budgets; and the decision,
// its reason and its costs are the same when the script evaluates it again, and when a freshly
// compiled copy of the script does (nothing survives an evaluation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/script.h"
#include "tuplespace/engine.h"

using namespace bastion;

namespace {

constexpr policy::Limits kLimits{20'000, 256 * 1024};

bool same(const policy::Decision& a, const policy::Decision& b) {
  return a.allowed == b.allowed && a.failed == b.failed && a.reason == b.reason &&
         a.instructions == b.instructions && a.memory_bytes == b.memory_bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find("\n@@\n");
  const std::string_view text = input.substr(0, split);

  ts::Request request =
      ts::Out{"s", ts::TupleSpec{{ts::Value("REPLICA"), ts::Value(static_cast<std::int64_t>(size)),
                                  ts::Value("STOPPED")},
                                 5000,
                                 {},
                                 {}}};
  if (split != std::string_view::npos) {
    const std::string_view rest = input.substr(split + 4);
    auto decoded = ts::decode_request(
        codec::ByteView(reinterpret_cast<const std::uint8_t*>(rest.data()), rest.size()));
    if (decoded && policy::governed(*decoded)) request = std::move(*decoded);
  }

  auto script = policy::Script::compile(text, kLimits);
  if (!script) return 0;
  ts::Engine engine;
  engine.execute({"admin", 1, 1, 0}, ts::SpaceCreate{"s", {}});
  engine.execute(
      {"alice", 1, 2, 0},
      ts::Out{"s",
              ts::TupleSpec{
                  {ts::Value("REPLICA"), ts::Value("alice"), ts::Value("WRITER")}, 0, {}, {}}});
  const std::vector<std::string> groups = {"ops"};
  const policy::EngineSpace view(engine, "s", 10);
  const policy::Invocation call{"s", "alice", &groups, 10, &request};

  const policy::Decision first = (*script)->evaluate(call, view);
  if (first.instructions > kLimits.instructions_max) std::abort();
  if (first.memory_bytes > kLimits.memory_bytes_max) std::abort();
  if (first.allowed && (first.failed || !first.reason.empty())) std::abort();
  if (!same((*script)->evaluate(call, view), first)) std::abort();
  auto fresh = policy::Script::compile(text, kLimits);
  if (!fresh || !same((*fresh)->evaluate(call, view), first)) std::abort();
  return 0;
}

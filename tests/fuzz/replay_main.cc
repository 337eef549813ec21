// Runs a libFuzzer target without libFuzzer: replays the corpus files given on the command line
// (files or directories), then feeds deterministic mutations of them and of random inputs. This
// keeps every fuzz target exercised by the ordinary test run (with sanitizers in the ASan build);
// the real coverage-guided fuzzing uses -DBASTION_FUZZ=ON with clang.
//
//   target [--runs N] [--seed S] [corpus paths...]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Input = std::vector<std::uint8_t>;

void add_file(const std::filesystem::path& p, std::vector<Input>& corpus) {
  std::ifstream f(p, std::ios::binary);
  corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Input mutate(const Input& base, std::mt19937_64& rng) {
  Input in = base;
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!in.empty()) in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // set an interesting byte
        if (!in.empty()) {
          static constexpr std::uint8_t kBytes[] = {0, 1, 0x7f, 0x80, 0xff, 2, 7};
          in[rng() % in.size()] = kBytes[rng() % sizeof(kBytes)];
        }
        break;
      case 2:  // truncate
        if (!in.empty()) in.resize(rng() % in.size());
        break;
      case 3:  // insert random bytes
      {
        const std::size_t at = in.empty() ? 0 : rng() % (in.size() + 1);
        const std::size_t n = 1 + rng() % 8;
        for (std::size_t i = 0; i < n; ++i) {
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng()));
        }
        break;
      }
      case 4:  // duplicate a slice
        if (in.size() > 1) {
          const std::size_t a = rng() % in.size();
          const std::size_t n = 1 + rng() % (in.size() - a);
          Input slice(in.begin() + static_cast<std::ptrdiff_t>(a),
                      in.begin() + static_cast<std::ptrdiff_t>(a + n));
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(a), slice.begin(), slice.end());
        }
        break;
      default:  // overwrite with a large little-endian length
        if (in.size() >= 4) {
          const std::size_t at = rng() % (in.size() - 3);
          const std::uint32_t v = 0x40000000u >> (rng() % 24);
          std::memcpy(in.data() + at, &v, 4);
        }
        break;
    }
  }
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 10000;
  std::uint64_t seed = 1;
  std::vector<Input> corpus;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::filesystem::is_directory(arg)) {
      for (const auto& e : std::filesystem::directory_iterator(arg)) {
        if (e.is_regular_file()) add_file(e.path(), corpus);
      }
    } else {
      add_file(arg, corpus);
    }
  }
  for (const Input& in : corpus) LLVMFuzzerTestOneInput(in.data(), in.size());
  std::mt19937_64 rng(seed);
  for (long r = 0; r < runs; ++r) {
    Input in;
    if (corpus.empty() || rng() % 8 == 0) {
      in.resize(rng() % 64);
      for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    } else {
      in = mutate(corpus[rng() % corpus.size()], rng);
    }
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  std::printf("replayed %zu corpus inputs and %ld mutations (seed %llu)\n", corpus.size(), runs,
              static_cast<unsigned long long>(seed));
  return 0;
}

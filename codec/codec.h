// Encoding and bounded decoding of any cereal-serializable value with Bastion's canonical archives.
//
//   Bytes b = codec::encode(value);
//   Result<T, std::string> r = codec::decode<T>(b);   // never throws, never over-allocates
//   Digest d = codec::digest_of(value);                 // BLAKE2b of the encoding, no buffer
//
// decode() rejects trailing bytes, so a value has exactly one accepted encoding. Types that need
// semantic checks (enum ranges, invariants) validate inside their load function and throw
// DecodeError.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "codec/archive.h"
#include "codec/digest.h"
#include "codec/result.h"

namespace bastion::codec {

template <class T>
void encode_into(Bytes& out, const T& value) {
  OutputArchive ar{VectorSink(out)};
  ar(value);
}

template <class T>
Bytes encode(const T& value) {
  Bytes out;
  encode_into(out, value);
  return out;
}

template <class T>
Digest digest_of(const T& value) {
  Blake2b hasher;
  {
    HashingOutputArchive ar{HashSink(hasher)};
    ar(value);
  }
  return hasher.finish();
}

// Decodes into an existing value (for types without a default constructor pattern, or reuse).
template <class T>
Result<Done, std::string> decode_into(ByteView in, T& value) {
  try {
    BoundedInputArchive ar(in);
    ar(value);
    if (ar.remaining() != 0) return fail(std::string("trailing bytes"));
    return Done{};
  } catch (const DecodeError& e) {
    return fail(std::string(e.what()));
  } catch (const cereal::Exception& e) {
    return fail(std::string(e.what()));
  } catch (const std::length_error& e) {
    return fail(std::string("length error: ") + e.what());
  } catch (const std::bad_alloc&) {
    return fail(std::string("allocation failed"));
  }
}

template <class T>
Result<T, std::string> decode(ByteView in) {
  T value{};
  auto r = decode_into(in, value);
  if (!r) return fail(std::move(r).error());
  return value;
}

}  // namespace bastion::codec

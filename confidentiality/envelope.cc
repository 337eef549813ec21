#include "confidentiality/envelope.h"

#include <cereal/types/vector.hpp>

#include "codec/codec.h"
#include "confidentiality/seal.h"
#include "tuplespace/ops.h"

namespace bastion::confidentiality {
namespace {

constexpr std::size_t kFingerprintBytes = 32;

template <class Bytes>
std::string as_string(const Bytes& b) {
  return {b.begin(), b.end()};
}
ByteView as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

codec::Digest context_of(std::string_view space, std::string_view writer, const ts::Tuple& fields,
                         const std::vector<std::uint8_t>& protection) {
  codec::Blake2b h;
  const auto put = [&h](ByteView item) {
    const std::uint64_t size = item.size();
    h.update(ByteView(reinterpret_cast<const std::uint8_t*>(&size), sizeof size));
    h.update(item);
  };
  h.update("bastion.confidential.context.v1");
  put(ByteView(reinterpret_cast<const std::uint8_t*>(space.data()), space.size()));
  put(ByteView(reinterpret_cast<const std::uint8_t*>(writer.data()), writer.size()));
  put(codec::encode(fields));
  put(protection);
  return h.finish();
}

codec::Digest associated_of(const codec::Digest& context, const Sharing& sharing) {
  codec::Blake2b h;
  h.update("bastion.confidential.sealed.v1");
  h.update(context);
  h.update(codec::encode(sharing));
  return h.finish();
}

codec::Bytes fingerprint_input(const ts::Value& v) { return codec::encode(v); }

// The protected values of a plaintext, or why they are not.
Result<std::vector<ts::Value>, std::string> decode_protected(ByteView plaintext,
                                                             std::size_t expected) {
  auto values = codec::decode<std::vector<ts::Value>>(plaintext);
  if (!values.ok()) return fail("the sealed values do not decode: " + values.error());
  if (values->size() != expected) {
    return fail("the sealed values hold " + std::to_string(values->size()) + " fields, " +
                std::to_string(expected) + " are protected");
  }
  for (const ts::Value& v : *values) {
    if (!v.valid()) return fail(std::string("a sealed value is not valid"));
  }
  return std::move(*values);
}

// The position among the protected values of field `field`.
std::size_t hidden_index(const std::vector<std::uint8_t>& protection, std::size_t field) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < field; ++i) {
    n += protection[i] != static_cast<std::uint8_t>(Protection::kPublic);
  }
  return n;
}

}  // namespace

Result<ProtectionVector, std::string> parse_protection(std::string_view text) {
  ProtectionVector out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view word = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (word == "pu" || word == "public") {
      out.push_back(Protection::kPublic);
    } else if (word == "co" || word == "comparable") {
      out.push_back(Protection::kComparable);
    } else if (word == "pr" || word == "private") {
      out.push_back(Protection::kPrivate);
    } else {
      return fail("protection '" + std::string(word) +
                  "' is not one of pu (public), co (comparable), pr (private)");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (out.size() > ts::kFieldsCap) return fail(std::string("too many protection entries"));
  return out;
}

std::vector<std::uint8_t> protection_bytes(const ProtectionVector& protection) {
  std::vector<std::uint8_t> out;
  out.reserve(protection.size());
  for (Protection p : protection) out.push_back(static_cast<std::uint8_t>(p));
  return out;
}

std::optional<ProtectionVector> protection_of_bytes(std::span<const std::uint8_t> bytes) {
  ProtectionVector out;
  out.reserve(bytes.size());
  for (std::uint8_t b : bytes) {
    if (b > static_cast<std::uint8_t>(Protection::kPrivate)) return std::nullopt;
    out.push_back(static_cast<Protection>(b));
  }
  return out;
}

std::string format_protection(const ProtectionVector& protection) {
  static constexpr const char* kNames[] = {"pu", "co", "pr"};
  std::string out;
  for (Protection p : protection) {
    if (!out.empty()) out += ',';
    out += kNames[static_cast<std::size_t>(p)];
  }
  return out;
}

ProtectionVector expand(const ProtectionVector& protection, std::size_t arity) {
  ProtectionVector out(protection.begin(),
                       protection.begin() + static_cast<long>(std::min(arity, protection.size())));
  out.resize(arity, protection.empty() ? Protection::kPublic : protection.back());
  return out;
}

codec::Digest StoredTuple::associated() const { return associated_of(context, envelope.sharing); }

Result<StoredTuple, std::string> parse_stored(std::string_view space, const ts::Tuple& stored) {
  if (stored.size() < 2) {
    return fail(std::string("a confidential tuple has its fields and an envelope"));
  }
  const ts::Value& last = stored.back();
  if (!last.is(ts::Type::kBytes)) return fail(std::string("the envelope field is not bytes"));
  StoredTuple out;
  auto envelope = codec::decode<Envelope>(as_bytes(last.as_bytes().data));
  if (!envelope.ok()) return fail("the envelope does not decode: " + envelope.error());
  out.envelope = std::move(*envelope);
  out.fields.assign(stored.begin(), stored.end() - 1);
  const auto& protection = out.envelope.protection;
  if (protection.size() != out.fields.size()) {
    return fail("the envelope protects " + std::to_string(protection.size()) + " fields of " +
                std::to_string(out.fields.size()));
  }
  for (std::size_t i = 0; i < protection.size(); ++i) {
    const ts::Value& v = out.fields[i];
    switch (protection[i]) {
      case static_cast<std::uint8_t>(Protection::kPublic):
        break;
      case static_cast<std::uint8_t>(Protection::kComparable):
        if (!v.is(ts::Type::kBytes) || v.as_bytes().data.size() != kFingerprintBytes) {
          return fail("field " + std::to_string(i) + " is comparable but holds no fingerprint");
        }
        break;
      case static_cast<std::uint8_t>(Protection::kPrivate):
        if (!v.is(ts::Type::kBytes) || !v.as_bytes().data.empty()) {
          return fail("field " + std::to_string(i) + " is private but holds a value");
        }
        break;
      default:
        return fail("field " + std::to_string(i) + " has an unknown protection");
    }
  }
  if (out.envelope.sealed.size() < kSealOverhead) {
    return fail(std::string("the sealed values are shorter than their nonce and tag"));
  }
  if (out.envelope.writer.empty() || out.envelope.writer.size() > ts::kNameBytesMax) {
    return fail(std::string("the envelope names no valid writer"));
  }
  out.context = context_of(space, out.envelope.writer, out.fields, protection);
  return out;
}

Result<StoredTuple, std::string> verify_stored(const Pvss& pvss, std::string_view space,
                                               std::string_view inserter, const ts::Tuple& stored) {
  auto parsed = parse_stored(space, stored);
  if (!parsed.ok()) return parsed;
  if (parsed->envelope.writer != inserter) {
    return fail("sealed by '" + parsed->envelope.writer + "', inserted by '" +
                std::string(inserter) + "'");
  }
  auto verified = pvss.verify(parsed->envelope.sharing, parsed->context);
  if (!verified.ok()) return fail("invalid sharing: " + verified.error());
  return parsed;
}

OpenedShare open_share(const PvssSecretKey& key, std::uint32_t index, const StoredTuple& tuple) {
  return key.open(index, tuple.envelope.sharing.shares.at(index), tuple.context);
}

Result<ts::Tuple, std::string> SpaceKeys::seal(const ts::Tuple& plain,
                                               const ProtectionVector& protection) const {
  if (plain.empty()) return fail(std::string("a tuple needs at least one field"));
  if (protection.empty()) return fail(std::string("the protection vector is empty"));
  const ProtectionVector full = expand(protection, plain.size());
  ts::Tuple fields;
  fields.reserve(plain.size() + 1);
  std::vector<ts::Value> hidden;
  std::vector<std::uint8_t> kinds;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    kinds.push_back(static_cast<std::uint8_t>(full[i]));
    switch (full[i]) {
      case Protection::kPublic:
        fields.push_back(plain[i]);
        break;
      case Protection::kComparable: {
        const codec::Digest fp = fingerprints_.fingerprint(fingerprint_input(plain[i]));
        fields.push_back(ts::Blob{as_string(fp)});
        hidden.push_back(plain[i]);
        break;
      }
      case Protection::kPrivate:
        fields.push_back(ts::Blob{});
        hidden.push_back(plain[i]);
        break;
    }
  }
  const codec::Digest context = context_of(space_, writer_, fields, kinds);
  Pvss::Dealt dealt = pvss_.deal(context);
  Envelope env;
  env.writer = writer_;
  env.protection = std::move(kinds);
  env.sharing = std::move(dealt.sharing);
  const codec::Digest ad = associated_of(context, env.sharing);
  env.sealed = confidentiality::seal(dealt.secret, ad, codec::encode(hidden));
  fields.push_back(ts::Blob{as_string(codec::encode(env))});
  return fields;
}

Result<ts::Template, std::string> SpaceKeys::fingerprint(const ts::Template& tmpl,
                                                         const ProtectionVector& protection) const {
  if (tmpl.empty()) return fail(std::string("a template needs at least one field"));
  if (protection.empty()) return fail(std::string("the protection vector is empty"));
  const ProtectionVector full = expand(protection, tmpl.size());
  ts::Template out;
  out.reserve(tmpl.size() + 1);
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    const ts::Pattern& p = tmpl[i];
    switch (full[i]) {
      case Protection::kPublic:
        out.push_back(p);
        break;
      case Protection::kComparable:
        if (p.is_typed()) {
          return fail("field " + std::to_string(i) +
                      " is comparable: match it with a value or *, not a typed wildcard");
        }
        if (p.is_value()) {
          const codec::Digest fp = fingerprints_.fingerprint(fingerprint_input(p.value()));
          out.push_back(ts::Value(ts::Blob{as_string(fp)}));
        } else {
          out.push_back(ts::Pattern::any());
        }
        break;
      case Protection::kPrivate:
        if (!p.is_any()) {
          return fail("field " + std::to_string(i) + " is private: only * matches it");
        }
        out.push_back(ts::Pattern::any());
        break;
    }
  }
  out.push_back(ts::Pattern::any());
  return out;
}

Result<ts::Tuple, OpenFailure> open(const SpaceKeys& keys, const StoredTuple& tuple,
                                    std::span<const OpenedShare> shares) {
  using Kind = OpenFailure::Kind;
  const auto secret = keys.pvss().combine(shares);
  if (!secret) {
    return fail(OpenFailure{Kind::kBadShares, 0, "the opened shares do not combine"});
  }
  const codec::Digest ad = tuple.associated();
  const auto plaintext = unseal(*secret, ad, tuple.envelope.sealed);
  if (!plaintext) {
    return fail(OpenFailure{Kind::kBadCiphertext, 0,
                            "the sealed values do not decrypt with the shared key"});
  }
  const auto& protection = tuple.envelope.protection;
  auto hidden = decode_protected(*plaintext, hidden_index(protection, protection.size()));
  if (!hidden.ok()) return fail(OpenFailure{Kind::kBadPlaintext, 0, hidden.error()});
  ts::Tuple plain;
  plain.reserve(tuple.fields.size());
  std::size_t next = 0;
  for (std::size_t i = 0; i < tuple.fields.size(); ++i) {
    if (protection[i] == static_cast<std::uint8_t>(Protection::kPublic)) {
      plain.push_back(tuple.fields[i]);
      continue;
    }
    ts::Value& v = (*hidden)[next++];
    if (protection[i] == static_cast<std::uint8_t>(Protection::kComparable)) {
      const codec::Digest fp = keys.fingerprints().fingerprint(fingerprint_input(v));
      if (as_string(fp) != tuple.fields[i].as_bytes().data) {
        return fail(OpenFailure{
            Kind::kWrongFingerprint, i,
            "field " + std::to_string(i) + "'s value does not have the fingerprint stored for it"});
      }
    }
    plain.push_back(std::move(v));
  }
  return plain;
}

RepairEvidence evidence_of(const SpaceKeys& keys, const StoredTuple& tuple,
                           std::span<const OpenedShare> shares, const OpenFailure& failure) {
  RepairEvidence e;
  e.shares.assign(shares.begin(), shares.end());
  if (failure.kind != OpenFailure::Kind::kWrongFingerprint) return e;
  // Decrypt again to find the field's value (a rare path: only a cheating writer leads here).
  const auto secret = keys.pvss().combine(shares);
  const auto plaintext =
      secret ? unseal(*secret, tuple.associated(), tuple.envelope.sealed) : std::nullopt;
  if (!plaintext) return e;
  auto hidden = decode_protected(
      *plaintext, hidden_index(tuple.envelope.protection, tuple.envelope.protection.size()));
  if (!hidden.ok()) return e;
  e.field = static_cast<std::uint32_t>(failure.field);
  const std::size_t at = hidden_index(tuple.envelope.protection, failure.field);
  e.fingerprint = keys.fingerprints().prove(fingerprint_input((*hidden)[at]));
  return e;
}

bool check_repair(const Pvss& pvss, const Point& fingerprint_key, const StoredTuple& tuple,
                  const RepairEvidence& evidence, std::string* reason) {
  const Sharing& sharing = tuple.envelope.sharing;
  if (evidence.shares.size() != pvss.threshold()) return false;
  for (const OpenedShare& s : evidence.shares) {
    if (s.index >= sharing.shares.size()) return false;
    if (!pvss.verify_opened(sharing.shares[s.index], s, tuple.context)) return false;
  }
  const auto secret = pvss.combine(evidence.shares);
  if (!secret) return false;
  const auto plaintext = unseal(*secret, tuple.associated(), tuple.envelope.sealed);
  if (!plaintext) {
    *reason = "its sealed values do not decrypt with the shared key";
    return true;
  }
  const auto& protection = tuple.envelope.protection;
  auto hidden = decode_protected(*plaintext, hidden_index(protection, protection.size()));
  if (!hidden.ok()) {
    *reason = hidden.error();
    return true;
  }
  if (!evidence.fingerprint || evidence.field >= tuple.fields.size() ||
      protection[evidence.field] != static_cast<std::uint8_t>(Protection::kComparable)) {
    return false;  // the tuple opens: nothing else is claimed against it
  }
  const std::size_t at = hidden_index(protection, evidence.field);
  const auto fp =
      verify_fingerprint(fingerprint_key, fingerprint_input((*hidden)[at]), *evidence.fingerprint);
  if (!fp) return false;
  const std::string& stored = tuple.fields[evidence.field].as_bytes().data;
  if (as_string(*fp) == stored) return false;
  *reason = "field " + std::to_string(evidence.field) + "'s stored fingerprint is not its value's";
  return true;
}

}  // namespace bastion::confidentiality

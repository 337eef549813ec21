#include "confidentiality/pvss.h"

#include <cstdlib>
#include <utility>

#include "codec/check.h"

namespace bastion::confidentiality {
namespace {

constexpr std::string_view kShareDomain = "bastion.pvss.share.v1";
constexpr std::string_view kOpenDomain = "bastion.pvss.open.v1";

// The evaluation point of replica `index`.
Scalar abscissa(std::size_t index) { return Scalar::from_u64(index + 1); }

// Σ_j z^j·Q_j for z = 1..n, the committed polynomial in the exponent at every replica's
// abscissa. Stepping a forward-difference table costs t-1 point additions per value, where Horner
// would cost t-1 scalar multiplications; only the table's start at z = 2..t-1 multiplies.
std::vector<Point> evaluate_at_abscissas(const std::vector<Point>& q, std::size_t n) {
  const std::size_t t = q.size();
  std::vector<Point> d(t);
  d[0] = q[0];
  for (std::size_t z = 1; z < t; ++z) {
    Point acc;
    for (auto it = q.rbegin(); it != q.rend(); ++it) {
      acc = (z == 1 ? acc : acc * Scalar::from_u64(z)) + *it;
    }
    d[z] = acc;
  }
  for (std::size_t k = 1; k < t; ++k) {
    for (std::size_t j = t - 1; j >= k; --j) d[j] = d[j] - d[j - 1];
  }
  std::vector<Point> out;
  out.reserve(n);
  for (std::size_t z = 1; z <= n; ++z) {
    for (std::size_t k = 0; k + 1 < t; ++k) d[k] = d[k] + d[k + 1];
    out.push_back(d[0]);
  }
  return out;
}

Scalar evaluate(const std::vector<Scalar>& coefficients, const Scalar& z) {
  Scalar acc;
  for (auto it = coefficients.rbegin(); it != coefficients.rend(); ++it) acc = acc * z + *it;
  return acc;
}

Transcript share_transcript(ByteView context, const std::vector<Point>& keys, std::size_t t,
                            const std::vector<Point>& commitments) {
  Transcript tr(kShareDomain);
  tr.add(context).add_u64(keys.size()).add_u64(t);
  for (const Point& y : keys) tr.add(y);
  for (const Point& c : commitments) tr.add(c);
  return tr;
}

Transcript open_context(ByteView context, std::uint32_t index) {
  Transcript tr("bastion.pvss.open-context.v1");
  tr.add(context).add_u64(index);
  return tr;
}

}  // namespace

PvssSecretKey::PvssSecretKey(const Scalar& secret)
    : secret_(secret), public_(second_generator() * secret) {}

PvssSecretKey PvssSecretKey::generate() {
  Scalar s = Scalar::random();
  while (s.is_zero()) s = Scalar::random();
  PvssSecretKey key(s);
  s.wipe();
  return key;
}

std::optional<PvssSecretKey> PvssSecretKey::from_bytes(ByteView bytes) {
  auto s = Scalar::from_bytes(bytes);
  if (!s || s->is_zero()) return std::nullopt;
  PvssSecretKey key(*s);
  s->wipe();
  return key;
}

PvssSecretKey::PvssSecretKey(PvssSecretKey&& o) noexcept : secret_(o.secret_), public_(o.public_) {
  o.secret_.wipe();
}

PvssSecretKey& PvssSecretKey::operator=(PvssSecretKey&& o) noexcept {
  if (this != &o) {
    secret_ = o.secret_;
    public_ = o.public_;
    o.secret_.wipe();
  }
  return *this;
}

PvssSecretKey::~PvssSecretKey() { secret_.wipe(); }

OpenedShare PvssSecretKey::open(std::uint32_t index, const Point& encrypted_share,
                                ByteView context) const {
  OpenedShare out;
  out.index = index;
  Scalar inverse = secret_.inverse();
  out.share = encrypted_share * inverse;
  inverse.wipe();
  const auto bound = open_context(context, index).wide();
  out.proof = dleq_prove(kOpenDomain, bound,
                         {second_generator(), public_, out.share, encrypted_share}, secret_);
  return out;
}

Pvss::Pvss(std::vector<Point> public_keys, std::size_t threshold)
    : keys_(std::move(public_keys)), t_(threshold) {
  BASTION_CHECK(t_ >= 1 && t_ <= keys_.size() && keys_.size() <= kMaxShareholders);
}

std::optional<Pvss> Pvss::of_cluster(std::span<const Point::Bytes> public_keys) {
  const std::size_t n = public_keys.size();
  if (n == 0 || n % 3 != 1 || n > kMaxShareholders) return std::nullopt;
  std::vector<Point> keys;
  keys.reserve(n);
  for (const Point::Bytes& bytes : public_keys) {
    auto key = Point::from_bytes(bytes);
    if (!key || key->is_identity()) return std::nullopt;
    keys.push_back(*key);
  }
  return Pvss(std::move(keys), (n - 1) / 3 + 1);
}

Pvss::Dealt Pvss::deal(ByteView context) const {
  const std::size_t n = keys_.size();
  std::vector<Scalar> coefficients(t_);
  for (Scalar& a : coefficients) a = Scalar::random();

  Dealt out;
  Sharing& sh = out.sharing;
  sh.commitments.reserve(t_);
  for (const Scalar& a : coefficients) sh.commitments.push_back(Point::base_mul(a));
  out.secret = second_generator() * coefficients[0];

  Transcript tr = share_transcript(context, keys_, t_, sh.commitments);
  std::vector<Scalar> values(n);
  std::vector<Scalar> nonces(n);
  sh.shares.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    values[i] = evaluate(coefficients, abscissa(i));
    nonces[i] = Scalar::random();
    const Point y = keys_[i] * values[i];
    sh.shares.push_back(y);
    tr.add(y).add(Point::base_mul(nonces[i])).add(keys_[i] * nonces[i]);
  }
  sh.challenge = tr.challenge();
  sh.responses.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    sh.responses.push_back(nonces[i] - sh.challenge * values[i]);
    nonces[i].wipe();
    values[i].wipe();
  }
  for (Scalar& a : coefficients) a.wipe();
  return out;
}

Result<Done, std::string> Pvss::verify(const Sharing& sh, ByteView context) const {
  const std::size_t n = keys_.size();
  if (sh.commitments.size() != t_) {
    return fail("the sharing has " + std::to_string(sh.commitments.size()) +
                " commitments, the threshold is " + std::to_string(t_));
  }
  if (sh.shares.size() != n || sh.responses.size() != n) {
    return fail("the sharing addresses " + std::to_string(sh.shares.size()) + " replicas, with " +
                std::to_string(sh.responses.size()) + " proofs; the cluster has " +
                std::to_string(n));
  }
  // a1_i = r_i·B + c·X_i, with c·X_i = Σ_j (i+1)^j·(c·C_j) evaluated from the t products c·C_j.
  std::vector<Point> scaled;
  scaled.reserve(t_);
  for (const Point& commitment : sh.commitments) scaled.push_back(commitment * sh.challenge);
  const std::vector<Point> cx = evaluate_at_abscissas(scaled, n);
  Transcript tr = share_transcript(context, keys_, t_, sh.commitments);
  for (std::size_t i = 0; i < n; ++i) {
    const Point& y = sh.shares[i];
    const Point a1 = Point::base_mul(sh.responses[i]) + cx[i];
    const Point a2 = keys_[i] * sh.responses[i] + y * sh.challenge;
    tr.add(y).add(a1).add(a2);
  }
  if (tr.challenge() != sh.challenge) return fail(std::string("a share's proof does not verify"));
  return Done{};
}

bool Pvss::verify_opened(const Point& encrypted_share, const OpenedShare& share,
                         ByteView context) const {
  if (share.index >= keys_.size()) return false;
  const auto bound = open_context(context, share.index).wide();
  return dleq_verify(kOpenDomain, bound,
                     {second_generator(), keys_[share.index], share.share, encrypted_share},
                     share.proof);
}

std::optional<Point> Pvss::combine(std::span<const OpenedShare> shares) const {
  if (shares.size() != t_) return std::nullopt;
  for (std::size_t a = 0; a < shares.size(); ++a) {
    if (shares[a].index >= keys_.size()) return std::nullopt;
    for (std::size_t b = 0; b < a; ++b) {
      if (shares[a].index == shares[b].index) return std::nullopt;
    }
  }
  Point secret;
  for (const OpenedShare& i : shares) {
    // λ_i = Π_{j≠i} x_j / (x_j - x_i) at zero.
    Scalar num = Scalar::from_u64(1);
    Scalar den = Scalar::from_u64(1);
    for (const OpenedShare& j : shares) {
      if (j.index == i.index) continue;
      num = num * abscissa(j.index);
      den = den * (abscissa(j.index) - abscissa(i.index));
    }
    secret = secret + i.share * (num * den.inverse());
  }
  return secret;
}

}  // namespace bastion::confidentiality

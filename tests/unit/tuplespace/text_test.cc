// Tests of the tuple text syntax (parser and printer) and of the JSON form: every literal kind and
// escape, every error with its column, numeric edges, and seeded round-trip properties over random
// tuples and templates (a failing case names its seed in the trace).
#include "tuplespace/text.h"

#include <gtest/gtest.h>
#include <iconv.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace bastion::ts {
namespace {

using std::string_literals::operator""s;

Tuple tuple_of(std::string_view text) {
  auto r = parse_tuple(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << r.error();
  return r.ok() ? *r : Tuple{};
}

Template template_of(std::string_view text) {
  auto r = parse_template(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << r.error();
  return r.ok() ? *r : Template{};
}

Value value_of(std::string_view text) {
  auto r = parse_value(text);
  EXPECT_TRUE(r.ok()) << text << " -> " << r.error();
  return r.ok() ? *r : Value();
}

// "column N: message" of parsing `text` as a template (or as a tuple), or "ok".
std::string template_error(std::string_view text) {
  auto r = parse_template(text);
  return r.ok() ? "ok" : r.error().to_string();
}
std::string tuple_error(std::string_view text) {
  auto r = parse_tuple(text);
  return r.ok() ? "ok" : r.error().to_string();
}
std::string value_error(std::string_view text) {
  auto r = parse_value(text);
  return r.ok() ? "ok" : r.error().to_string();
}

Blob bytes_of(std::string s) { return Blob{std::move(s)}; }

// ---- literals -----------------------------------------------------------------------------------

TEST(TextParse, TheExampleFromTheDocs) {
  Template t = template_of(R"(("job", 42, -3.5e2, true, 0x00ff, *, ?int))");
  Template expected{Pattern(Value("job")),
                    Pattern(Value(42)),
                    Pattern(Value(-350.0)),
                    Pattern(Value(true)),
                    Pattern(Value(bytes_of("\x00\xff"s))),
                    Pattern::any(),
                    Pattern::typed(Type::kInt)};
  EXPECT_EQ(t, expected);
}

TEST(TextParse, EmptyListAndWhitespace) {
  EXPECT_EQ(tuple_of("()"), Tuple{});
  EXPECT_EQ(tuple_of(" \t\r\n( \n ) \t"), Tuple{});
  EXPECT_EQ(template_of("()"), Template{});
  EXPECT_EQ(tuple_of("(\n1\t,\r\n2 ,3)"), (Tuple{Value(1), Value(2), Value(3)}));
  EXPECT_EQ(tuple_of("(1,2)"), (Tuple{Value(1), Value(2)}));
}

TEST(TextParse, EveryLiteralKind) {
  EXPECT_EQ(value_of(R"("hello")"), Value("hello"));
  EXPECT_EQ(value_of(R"("")"), Value(""));
  EXPECT_EQ(value_of("7"), Value(7));
  EXPECT_EQ(value_of("-7"), Value(-7));
  EXPECT_EQ(value_of("+7"), Value(7));
  EXPECT_EQ(value_of("0"), Value(0));
  EXPECT_EQ(value_of("-0"), Value(0));
  EXPECT_EQ(value_of("2.5"), Value(2.5));
  EXPECT_EQ(value_of("true"), Value(true));
  EXPECT_EQ(value_of("false"), Value(false));
  EXPECT_EQ(value_of("0x"), Value(Blob{}));
  EXPECT_EQ(value_of("0xDEADbeef"), Value(bytes_of("\xde\xad\xbe\xef")));
  EXPECT_EQ(value_of("  42  "), Value(42));
  // An int and a float with the same numeric value are different values.
  EXPECT_TRUE(value_of("1").is(Type::kInt));
  EXPECT_TRUE(value_of("1.0").is(Type::kFloat));
  EXPECT_TRUE(value_of("1e0").is(Type::kFloat));
}

TEST(TextParse, Wildcards) {
  EXPECT_EQ(template_of("(*, ?string, ?int, ?float, ?bool, ?bytes)"),
            (Template{Pattern::any(), Pattern::typed(Type::kString), Pattern::typed(Type::kInt),
                      Pattern::typed(Type::kFloat), Pattern::typed(Type::kBool),
                      Pattern::typed(Type::kBytes)}));
  EXPECT_EQ(template_of("(\"a\",1)"), exact(Tuple{Value("a"), Value(1)}));
}

TEST(TextParse, StringEscapes) {
  EXPECT_EQ(value_of(R"("\"\\\/")"), Value("\"\\/"));
  EXPECT_EQ(value_of(R"("a\nb\tc\rd\be\ff")"), Value("a\nb\tc\rd\be\ff"));
  EXPECT_EQ(value_of(R"("\u0041\u00e9\u20AC")"), Value("A\xc3\xa9\xe2\x82\xac"));
  EXPECT_EQ(value_of(R"("\u0000")"), Value("\0"s));
  EXPECT_EQ(value_of(R"("\uD83D\uDE00")"), Value("\xf0\x9f\x98\x80"));  // U+1F600
  EXPECT_EQ(value_of(R"("\udbff\udfff")"), Value("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_EQ(value_of(R"("\x00\xff\x41")"), Value("\x00\xff\x41"s));
  EXPECT_EQ(value_of(R"("\xc3\xa9")"), Value("\xc3\xa9"));
}

TEST(TextParse, RawBytesPassThroughStrings) {
  EXPECT_EQ(value_of("\"h\xc3\xa9llo \xe2\x82\xac\""), Value("h\xc3\xa9llo \xe2\x82\xac"));
  // Bytes that are not UTF-8 are kept as they are: strings are octet strings.
  EXPECT_EQ(value_of("\"\xff\xfe\x80\""), Value("\xff\xfe\x80"));
  // C1 controls arrive as valid UTF-8 and are not "raw control characters".
  EXPECT_EQ(value_of("\"\xc2\x85\""), Value("\xc2\x85"));
}

TEST(TextParse, IntegerRange) {
  EXPECT_EQ(value_of("9223372036854775807"), Value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(value_of("-9223372036854775808"), Value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(value_error("9223372036854775808"), "column 1: integer out of range");
  EXPECT_EQ(value_error("-9223372036854775809"), "column 1: integer out of range");
  EXPECT_EQ(value_error("+9223372036854775808"), "column 1: integer out of range");
  EXPECT_EQ(tuple_error("(1, 99999999999999999999999999)"), "column 5: integer out of range");
}

TEST(TextParse, FloatEdges) {
  EXPECT_EQ(value_of("-3.5e2"), Value(-350.0));
  EXPECT_EQ(value_of("1e3"), Value(1000.0));
  EXPECT_EQ(value_of("1E3"), Value(1000.0));
  EXPECT_EQ(value_of("1e+3"), Value(1000.0));
  EXPECT_EQ(value_of("25e-1"), Value(2.5));
  EXPECT_EQ(value_of("0.1"), Value(0.1));
  EXPECT_EQ(value_of("1.7976931348623157e308"), Value(std::numeric_limits<double>::max()));
  EXPECT_EQ(value_of("-1.7976931348623157e308"), Value(-std::numeric_limits<double>::max()));
  EXPECT_EQ(value_of("2.2250738585072014e-308"), Value(std::numeric_limits<double>::min()));
  EXPECT_EQ(value_of("5e-324"), Value(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(value_of("0e999999"), Value(0.0));
  // -0.0 is normalised to +0.0, bit for bit.
  const Value negzero = value_of("-0.0");
  ASSERT_TRUE(negzero.is(Type::kFloat));
  EXPECT_FALSE(std::signbit(negzero.as_float()));
  EXPECT_FALSE(std::signbit(value_of("-0e5").as_float()));
  // Non-finite results and values that round to zero are rejected, not rounded.
  EXPECT_EQ(value_error("1e999"), "column 1: float out of range");
  EXPECT_EQ(value_error("-1e999"), "column 1: float out of range");
  EXPECT_EQ(value_error("1.7976931348623159e308"), "column 1: float out of range");
  EXPECT_EQ(value_error("1e-400"), "column 1: float out of range");
  EXPECT_EQ(value_error("nan"), "column 1: floats must be finite");
  EXPECT_EQ(value_error("-inf"), "column 1: floats must be finite");
  EXPECT_EQ(value_error("Infinity"), "column 1: floats must be finite");
}

// ---- errors -------------------------------------------------------------------------------------

TEST(TextErrors, ListStructure) {
  EXPECT_EQ(tuple_error(""), "column 1: expected '('");
  EXPECT_EQ(tuple_error("   "), "column 4: expected '('");
  EXPECT_EQ(tuple_error("1, 2"), "column 1: expected '('");
  EXPECT_EQ(tuple_error("(1 2)"), "column 4: expected ',' or ')'");
  EXPECT_EQ(tuple_error("(\"job\", 42"), "column 11: expected ',' or ')'");
  EXPECT_EQ(tuple_error("(1,)"), "column 4: expected a value");
  EXPECT_EQ(tuple_error("(,1)"), "column 2: expected a value");
  EXPECT_EQ(tuple_error("(1,"), "column 4: expected a value");
  EXPECT_EQ(tuple_error("("), "column 2: expected a value");
  EXPECT_EQ(tuple_error("(1) x"), "column 5: unexpected text after ')'");
  EXPECT_EQ(tuple_error("(1)(2)"), "column 4: unexpected text after ')'");
  EXPECT_EQ(tuple_error("((1))"), "column 2: nested tuples are not supported");
  EXPECT_EQ(value_error("1 2"), "column 3: unexpected text after the value");
  EXPECT_EQ(value_error(""), "column 1: expected a value");
}

TEST(TextErrors, WildcardsInTuples) {
  EXPECT_EQ(tuple_error("(1, *)"), "column 5: wildcard '*' is only allowed in a template");
  EXPECT_EQ(tuple_error("(?int)"), "column 2: typed wildcard '?int' is only allowed in a template");
  EXPECT_EQ(value_error("*"), "column 1: wildcard '*' is only allowed in a template");
  EXPECT_EQ(template_error("(?integer)"),
            "column 2: unknown type after '?' (expected string, int, float, bool or bytes)");
  EXPECT_EQ(template_error("(? int)"),
            "column 2: unknown type after '?' (expected string, int, float, bool or bytes)");
  EXPECT_EQ(template_error("(?Int)"),
            "column 2: unknown type after '?' (expected string, int, float, bool or bytes)");
  EXPECT_EQ(template_error("(**)"), "column 3: expected ',' or ')'");
}

TEST(TextErrors, Strings) {
  EXPECT_EQ(tuple_error("(1, \"abc"), "column 5: unterminated string");
  EXPECT_EQ(tuple_error("(1, \"abc\\"), "column 5: unterminated string");
  EXPECT_EQ(tuple_error("(\"a\nb\")"),
            "column 4: raw control character in string (write it as an escape, e.g. \\n)");
  EXPECT_EQ(tuple_error("(\"a\tb\")"),
            "column 4: raw control character in string (write it as an escape, e.g. \\n)");
  EXPECT_EQ(tuple_error("(\"a\x7f\")"),
            "column 4: raw control character in string (write it as an escape, e.g. \\n)");
  EXPECT_EQ(tuple_error("(\"\0\")"s),
            "column 3: raw control character in string (write it as an escape, e.g. \\n)");
  EXPECT_EQ(tuple_error(R"(("ab\q"))"), "column 5: unknown escape '\\q'");
  EXPECT_EQ(tuple_error("(\"ab\\\x01\")"), "column 5: unknown escape");
  EXPECT_EQ(tuple_error(R"(("\u12"))"), "column 3: \\u needs 4 hex digits");
  EXPECT_EQ(tuple_error(R"(("\u12g4"))"), "column 3: \\u needs 4 hex digits");
  EXPECT_EQ(tuple_error(R"(("\x4"))"), "column 3: \\x needs 2 hex digits");
  EXPECT_EQ(tuple_error(R"(("\xZZ"))"), "column 3: \\x needs 2 hex digits");
  const std::string lone_high =
      "lone surrogate \\ud83d (a high surrogate \\uD800-\\uDBFF must be followed by a low one "
      "\\uDC00-\\uDFFF)";
  EXPECT_EQ(tuple_error(R"(("ab\uD83D"))"), "column 5: " + lone_high);
  EXPECT_EQ(tuple_error(R"(("ab\uD83Dx"))"), "column 5: " + lone_high);
  EXPECT_EQ(tuple_error(R"(("ab\uD83D\u0041"))"), "column 5: " + lone_high);
  EXPECT_EQ(tuple_error(R"(("ab\uD83D\uD83D"))"), "column 5: " + lone_high);
  EXPECT_EQ(tuple_error(R"(("\uDE00"))"),
            "column 3: lone surrogate \\ude00 (a high surrogate \\uD800-\\uDBFF must be followed "
            "by a low one \\uDC00-\\uDFFF)");
}

TEST(TextErrors, Numbers) {
  EXPECT_EQ(value_error("-"), "column 2: expected a digit after '-'");
  EXPECT_EQ(value_error("+x"), "column 2: expected a digit after '+'");
  EXPECT_EQ(value_error("007"), "column 1: leading zeros are not allowed");
  EXPECT_EQ(value_error("-01.5"), "column 2: leading zeros are not allowed");
  EXPECT_EQ(value_error(".5"), "column 1: a float needs a digit before '.' (write 0.5, not .5)");
  EXPECT_EQ(value_error("-.5"), "column 1: a float needs a digit before '.' (write 0.5, not .5)");
  EXPECT_EQ(value_error("5."), "column 3: expected a digit after '.'");
  EXPECT_EQ(value_error("5.e3"), "column 3: expected a digit after '.'");
  EXPECT_EQ(value_error("1e"), "column 3: expected a digit in the exponent");
  EXPECT_EQ(value_error("1e+"), "column 4: expected a digit in the exponent");
  EXPECT_EQ(value_error("12abc"), "column 3: unexpected 'a' in number");
  EXPECT_EQ(value_error("1.5.3"), "column 4: unexpected '.' in number");
  EXPECT_EQ(value_error("0X12"), "column 2: unexpected 'X' in number");
}

TEST(TextErrors, BytesWordsAndStrayCharacters) {
  EXPECT_EQ(value_error("0x123"), "column 1: odd number of hex digits in bytes");
  EXPECT_EQ(value_error("0x12g4"), "column 5: invalid hex digit 'g' in bytes");
  EXPECT_EQ(value_error("-0x12"), "column 1: bytes cannot have a sign");
  EXPECT_EQ(tuple_error("(job)"), "column 2: unknown word 'job' (strings need double quotes)");
  EXPECT_EQ(tuple_error("(True)"), "column 2: booleans are written true and false (lowercase)");
  EXPECT_EQ(tuple_error("(truex)"), "column 2: unknown word 'truex' (strings need double quotes)");
  EXPECT_EQ(value_error("abcdefghijklmnopqrstuvwxyz"),
            "column 1: unknown word 'abcdefghijklmnopqrstuvwx...' (strings need double quotes)");
  EXPECT_EQ(tuple_error("(1, 'a')"), "column 5: unexpected character '''");
  EXPECT_EQ(tuple_error("(1; 2)"), "column 3: expected ',' or ')'");
  EXPECT_EQ(tuple_error("(\x01)"), "column 2: unexpected character U+0001");
  EXPECT_EQ(tuple_error("(\xff)"), "column 2: unexpected byte 0xff");
  EXPECT_EQ(tuple_error("(\xe2\x80\x9cjob\xe2\x80\x9d)"),
            "column 2: unexpected character U+201C (strings use plain double quotes \")");
  EXPECT_EQ(tuple_error("(\xc2\xa0"
                        "1)"),
            "column 2: unexpected character U+00A0");
}

TEST(TextErrors, ColumnsCountCodePointsAndOffsetsCountBytes) {
  // "é" is two bytes and one column; "😀" is four bytes and one column.
  auto r = parse_tuple("(\"\xc3\xa9\xf0\x9f\x98\x80\", x)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().column, 8u);
  EXPECT_EQ(r.error().offset, 11u);
  // Each byte outside well-formed UTF-8 counts as one column.
  r = parse_tuple("(\"\xff\xc3\", x)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().column, 8u);
  EXPECT_EQ(r.error().offset, 7u);
  EXPECT_EQ(r.error().message, "unknown word 'x' (strings need double quotes)");
  // Column and offset agree on ASCII input.
  r = parse_tuple("(1, 2,, 3)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().column, 7u);
  EXPECT_EQ(r.error().offset, 6u);
}

// ---- printer ------------------------------------------------------------------------------------

TEST(TextPrint, CanonicalForm) {
  Template t{Pattern(Value("a")),
             Pattern(Value(1)),
             Pattern(Value(2.5)),
             Pattern(Value(true)),
             Pattern(Value(bytes_of("\x00\xff"s))),
             Pattern::any(),
             Pattern::typed(Type::kInt)};
  EXPECT_EQ(to_text(t), R"(("a", 1, 2.5, true, 0x00ff, *, ?int))");
  EXPECT_EQ(to_text(Tuple{}), "()");
  EXPECT_EQ(to_text(Template{}), "()");
  EXPECT_EQ(to_text(Tuple{Value(false), Value(Blob{})}), "(false, 0x)");
  EXPECT_EQ(to_text(Pattern::typed(Type::kBytes)), "?bytes");
  EXPECT_EQ(to_text(template_of(" ( ?string ,?float,?bool ) ")), "(?string, ?float, ?bool)");
}

TEST(TextPrint, Integers) {
  EXPECT_EQ(to_text(Value(0)), "0");
  EXPECT_EQ(to_text(Value(-42)), "-42");
  EXPECT_EQ(to_text(Value(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(to_text(Value(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
}

TEST(TextPrint, FloatsAreShortestAndLookLikeFloats) {
  EXPECT_EQ(to_text(Value(1.0)), "1.0");
  EXPECT_EQ(to_text(Value(-350.0)), "-350.0");
  EXPECT_EQ(to_text(Value(0.0)), "0.0");
  EXPECT_EQ(to_text(Value(-0.0)), "0.0");
  EXPECT_EQ(to_text(Value(0.1)), "0.1");
  EXPECT_EQ(to_text(Value(2.5)), "2.5");
  EXPECT_EQ(to_text(Value(1e21)), "1e21");
  EXPECT_EQ(to_text(Value(1e-7)), "1e-7");
  EXPECT_EQ(to_text(Value(1.5e300)), "1.5e300");
  EXPECT_EQ(to_text(Value(-2.5e-10)), "-2.5e-10");
  EXPECT_EQ(to_text(Value(std::numeric_limits<double>::denorm_min())), "5e-324");
  EXPECT_EQ(to_text(Value(std::numeric_limits<double>::max())), "1.7976931348623157e308");
  EXPECT_EQ(to_text(Value(123456789012345680000.0)), "123456789012345683968.0");
  // Values outside the model print recognisably and do not parse back.
  EXPECT_EQ(to_text(Value(std::numeric_limits<double>::infinity())), "inf");
  EXPECT_EQ(to_text(Value(-std::numeric_limits<double>::infinity())), "-inf");
  EXPECT_EQ(to_text(Value(std::numeric_limits<double>::quiet_NaN())), "nan");
}

TEST(TextPrint, StringEscaping) {
  EXPECT_EQ(to_text(Value("plain")), R"("plain")");
  EXPECT_EQ(to_text(Value("q\"b\\s/")), R"("q\"b\\s/")");
  EXPECT_EQ(to_text(Value("\n\t\r")), R"("\n\t\r")");
  EXPECT_EQ(to_text(Value("\0\x01\x1b\x7f"s)), R"("\u0000\u0001\u001b\u007f")");
  // Printable UTF-8 passes through; C1 controls, separators and bidi overrides are escaped.
  EXPECT_EQ(to_text(Value("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
            "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(to_text(Value("\xc2\x85\xe2\x80\xa8\xe2\x80\xae\xef\xbb\xbf")),
            R"("\u0085\u2028\u202e\ufeff")");
  // Bytes outside well-formed UTF-8 print as \xHH, one escape per byte.
  EXPECT_EQ(to_text(Value("\xff")), R"("\xff")");
  EXPECT_EQ(to_text(Value("a\xc3")), R"("a\xc3")");                // truncated sequence
  EXPECT_EQ(to_text(Value("\xc0\xaf")), R"("\xc0\xaf")");          // overlong '/'
  EXPECT_EQ(to_text(Value("\xed\xa0\xbd")), R"("\xed\xa0\xbd")");  // UTF-8 encoded surrogate
  EXPECT_EQ(to_text(Value("\xf4\x90\x80\x80")), R"("\xf4\x90\x80\x80")");  // above U+10FFFF
  EXPECT_EQ(to_text(Value("\xe2\x82\xac\x80")), "\"\xe2\x82\xac\\x80\"");  // stray continuation
}

TEST(TextPrint, OutputOfEscapesRoundTrips) {
  for (const char* text : {R"("\u0000\u001f\u007f\u0085")", R"("\xff\xc3\x28")",
                           R"("\ud83d\ude00\u00e9\u202e")", R"("\/\b\f")"}) {
    const Value v = value_of(text);
    EXPECT_EQ(value_of(to_text(v)), v) << text;
  }
}

// ---- JSON ---------------------------------------------------------------------------------------

TEST(Json, Examples) {
  EXPECT_EQ(to_json(tuple_of(R"(("job", 42, -3.5e2, true, 0x00ff))")),
            R"(["job",42,-350.0,true,{"bytes":"00ff"}])");
  EXPECT_EQ(to_json(template_of(R"(("job", *, ?int, ?bytes, false))")),
            R"(["job",{"any":true},{"type":"int"},{"type":"bytes"},false])");
  EXPECT_EQ(to_json(Tuple{}), "[]");
  EXPECT_EQ(to_json(Value(Blob{})), R"({"bytes":""})");
  EXPECT_EQ(to_json(Value(1.0)), "1.0");
  EXPECT_EQ(to_json(Value(1e21)), "1e21");
  EXPECT_EQ(to_json(Value(5e-324)), "5e-324");
  EXPECT_EQ(to_json(Value(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(to_json(Value(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(to_json(Value(std::numeric_limits<double>::infinity())), "null");
}

TEST(Json, Strings) {
  EXPECT_EQ(to_json(Value("a\"b\\c/d")), R"("a\"b\\c/d")");
  EXPECT_EQ(to_json(Value("\n\t\r\b\f\0\x1b\x7f"s)), R"("\n\t\r\u0008\u000c\u0000\u001b\u007f")");
  EXPECT_EQ(to_json(Value("h\xc3\xa9 \xf0\x9f\x98\x80")), "\"h\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(to_json(Value("\xe2\x80\xa8")), R"("\u2028")");
  // Not UTF-8: JSON strings cannot carry it, so the octets go out as hex in an object.
  EXPECT_EQ(to_json(Value("a\xff")), R"({"string_hex":"61ff"})");
  EXPECT_EQ(to_json(Value("\xed\xa0\xbd")), R"({"string_hex":"eda0bd"})");
}

// A minimal RFC 8259 reader for checking to_json: enough to decode what it emits and to reject
// anything malformed. Numbers keep their text.
struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  std::string text;  // number text or decoded string
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view in) : in_(in) {}
  bool read(Json& out) {
    if (!value(out, 0)) return false;
    return pos_ == in_.size();
  }

 private:
  bool value(Json& out, int depth) {
    if (depth > 4 || pos_ >= in_.size()) return false;
    const char c = in_[pos_];
    if (c == '[') {
      out.kind = Json::kArray;
      ++pos_;
      if (eat(']')) return true;
      do {
        out.items.emplace_back();
        if (!value(out.items.back(), depth + 1)) return false;
      } while (eat(','));
      return eat(']');
    }
    if (c == '{') {
      out.kind = Json::kObject;
      ++pos_;
      if (eat('}')) return true;
      do {
        std::string key;
        if (!string(key) || !eat(':')) return false;
        out.members.emplace_back(std::move(key), Json{});
        if (!value(out.members.back().second, depth + 1)) return false;
      } while (eat(','));
      return eat('}');
    }
    if (c == '"') {
      out.kind = Json::kString;
      return string(out.text);
    }
    for (const char* word : {"true", "false", "null"}) {
      if (in_.substr(pos_, std::strlen(word)) == word) {
        pos_ += std::strlen(word);
        out.kind = word[0] == 'n' ? Json::kNull : Json::kBool;
        out.b = word[0] == 't';
        return true;
      }
    }
    return number(out);
  }

  bool number(Json& out) {
    const std::size_t start = pos_;
    eat('-');
    if (eat('0')) {
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (eat('e') || eat('E')) {
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    out.kind = Json::kNumber;
    out.text = std::string(in_.substr(start, pos_ - start));
    return true;
  }

  bool digits() {
    const std::size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (pos_ < in_.size()) {
      const auto c = static_cast<unsigned char>(in_[pos_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= in_.size()) return false;
      const char e = in_[pos_++];
      const std::string simple = "\"\\/bfnrt";
      const std::string meaning = "\"\\/\b\f\n\r\t";
      if (const auto k = simple.find(e); k != std::string::npos) {
        out += meaning[k];
        continue;
      }
      if (e != 'u') return false;
      unsigned cp = 0;
      if (!hex4(cp)) return false;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned low = 0;
        if (!eat('\\') || !eat('u') || !hex4(low) || low < 0xdc00 || low > 0xdfff) return false;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return false;
      }
      encode_utf8(out, cp);
    }
    return false;
  }

  // The C library's converter, not a restatement of the printer's encoder.
  static void encode_utf8(std::string& out, unsigned cp) {
    static const iconv_t cd = iconv_open("UTF-8", "UTF-32LE");
    ASSERT_NE(cd, reinterpret_cast<iconv_t>(-1));
    char in[4] = {static_cast<char>(cp & 0xff), static_cast<char>((cp >> 8) & 0xff),
                  static_cast<char>((cp >> 16) & 0xff), static_cast<char>(cp >> 24)};
    char buf[8];
    char* in_ptr = in;
    char* out_ptr = buf;
    std::size_t in_left = sizeof in;
    std::size_t out_left = sizeof buf;
    ASSERT_NE(iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left), static_cast<std::size_t>(-1));
    out.append(buf, sizeof buf - out_left);
  }

  bool hex4(unsigned& out) {
    if (in_.size() - pos_ < 4) return false;
    const auto r = std::from_chars(in_.data() + pos_, in_.data() + pos_ + 4, out, 16);
    if (r.ptr != in_.data() + pos_ + 4) return false;
    pos_ += 4;
    return true;
  }

  bool eat(char c) {
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

std::string hex_of(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  // The printer's UTF-8 rule, restated independently: a string prints verbatim as a JSON string
  // exactly when it survives as a JSON string.
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    unsigned cp = len == 1 ? b : b & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

// Checks that a decoded JSON element stands for exactly `v`.
void expect_json_matches(const Json& j, const Value& v) {
  switch (v.type()) {
    case Type::kString:
      if (valid_utf8(v.as_string())) {
        ASSERT_EQ(j.kind, Json::kString);
        EXPECT_EQ(j.text, v.as_string());
      } else {
        ASSERT_EQ(j.kind, Json::kObject);
        ASSERT_EQ(j.members.size(), 1u);
        EXPECT_EQ(j.members[0].first, "string_hex");
        EXPECT_EQ(j.members[0].second.text, hex_of(v.as_string()));
      }
      break;
    case Type::kInt: {
      ASSERT_EQ(j.kind, Json::kNumber);
      std::int64_t i = 0;
      auto r = std::from_chars(j.text.data(), j.text.data() + j.text.size(), i);
      ASSERT_EQ(r.ptr, j.text.data() + j.text.size());
      EXPECT_EQ(i, v.as_int());
      break;
    }
    case Type::kFloat: {
      ASSERT_EQ(j.kind, Json::kNumber);
      EXPECT_NE(j.text.find_first_of(".e"), std::string::npos) << j.text;
      double d = 0;
      auto r = std::from_chars(j.text.data(), j.text.data() + j.text.size(), d);
      ASSERT_EQ(r.ptr, j.text.data() + j.text.size());
      EXPECT_EQ(d, v.as_float());
      break;
    }
    case Type::kBool:
      ASSERT_EQ(j.kind, Json::kBool);
      EXPECT_EQ(j.b, v.as_bool());
      break;
    case Type::kBytes:
      ASSERT_EQ(j.kind, Json::kObject);
      ASSERT_EQ(j.members.size(), 1u);
      EXPECT_EQ(j.members[0].first, "bytes");
      EXPECT_EQ(j.members[0].second.text, hex_of(v.as_bytes().data));
      break;
  }
}

// ---- seeded random round trips ------------------------------------------------------------------

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}

  Value value() {
    switch (pick(5)) {
      case 0:
        return Value(string());
      case 1:
        return Value(integer());
      case 2:
        return Value(real());
      case 3:
        return Value(pick(2) == 0);
      default: {
        Blob b;
        b.data = raw_bytes(pick(12));
        return Value(std::move(b));
      }
    }
  }

  Pattern pattern() {
    switch (pick(4)) {
      case 0:
        return Pattern::any();
      case 1:
        return Pattern::typed(static_cast<Type>(pick(kTypeCount)));
      default:
        return Pattern(value());
    }
  }

  Tuple tuple() {
    Tuple t;
    for (std::size_t n = pick(8); n > 0; --n) t.push_back(value());
    return t;
  }

  Template templ() {
    Template t;
    for (std::size_t n = pick(8); n > 0; --n) t.push_back(pattern());
    return t;
  }

 private:
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }

  std::string raw_bytes(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<char>(rng_());
    return s;
  }

  // Strings mix ordinary text, characters that need escaping, multi-byte UTF-8 and broken UTF-8.
  std::string string() {
    static const char* const kPieces[] = {"a",
                                          "job",
                                          " ",
                                          "\"",
                                          "\\",
                                          "/",
                                          "\n",
                                          "\t",
                                          "\r",
                                          "\0",
                                          "\x1b",
                                          "\x7f",
                                          "\xc3\xa9",
                                          "\xe2\x82\xac",
                                          "\xf0\x9f\x98\x80",
                                          "\xc2\x85",
                                          "\xe2\x80\xa8",
                                          "\xe2\x80\xae",
                                          "\xef\xbb\xbf",
                                          "\xff",
                                          "\xc3",
                                          "\x80",
                                          "\xed\xa0\xbd",
                                          "\xf4\x90\x80\x80",
                                          "\xc0\xaf",
                                          "\\x41",
                                          "\\u0041",
                                          "?int",
                                          "*",
                                          "(",
                                          ")",
                                          ","};
    std::string s;
    for (std::size_t n = pick(10); n > 0; --n) {
      if (pick(6) == 0) {
        s += raw_bytes(1 + pick(3));
      } else {
        const char* piece = kPieces[pick(std::size(kPieces))];
        s += piece[0] == '\0' ? std::string(1, '\0') : std::string(piece);
      }
    }
    return s;
  }

  std::int64_t integer() {
    switch (pick(4)) {
      case 0:
        return std::numeric_limits<std::int64_t>::min() + static_cast<std::int64_t>(pick(3));
      case 1:
        return std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(pick(3));
      case 2:
        return static_cast<std::int64_t>(pick(2001)) - 1000;
      default:
        return static_cast<std::int64_t>(rng_());
    }
  }

  double real() {
    static const double kEdges[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    0.1,
                                    1e21,
                                    1e-7,
                                    123456789012345680000.0,
                                    std::numeric_limits<double>::max(),
                                    -std::numeric_limits<double>::max(),
                                    std::numeric_limits<double>::min(),
                                    std::numeric_limits<double>::denorm_min(),
                                    -std::numeric_limits<double>::denorm_min(),
                                    9007199254740993.0};
    if (pick(3) == 0) return kEdges[pick(std::size(kEdges))];
    if (pick(2) == 0) return static_cast<double>(static_cast<std::int64_t>(pick(1u << 20)) - 512);
    for (;;) {  // any finite bit pattern, subnormals included
      const std::uint64_t bits = rng_();
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      if (std::isfinite(d)) return d;
    }
  }

  std::mt19937_64 rng_;
};

constexpr int kSeeds = 40;
constexpr int kCasesPerSeed = 250;

TEST(TextRoundTrip, RandomTuples) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen gen(seed);
    for (int i = 0; i < kCasesPerSeed; ++i) {
      const Tuple t = gen.tuple();
      const std::string text = to_text(t);
      auto back = parse_tuple(text);
      ASSERT_TRUE(back.ok()) << text << " -> " << back.error();
      ASSERT_EQ(*back, t) << text;
      ASSERT_EQ(to_text(*back), text);
      ASSERT_TRUE(valid_utf8(text)) << text;
      // A tuple's text is also a template that matches exactly it.
      auto as_template = parse_template(text);
      ASSERT_TRUE(as_template.ok()) << text;
      ASSERT_EQ(*as_template, exact(t));
    }
  }
}

TEST(TextRoundTrip, RandomTemplates) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen gen(seed * 7919);
    for (int i = 0; i < kCasesPerSeed; ++i) {
      const Template t = gen.templ();
      const std::string text = to_text(t);
      auto back = parse_template(text);
      ASSERT_TRUE(back.ok()) << text << " -> " << back.error();
      ASSERT_EQ(*back, t) << text;
      ASSERT_EQ(to_text(*back), text);
    }
  }
}

TEST(TextRoundTrip, ReformattedInputParsesTheSame) {
  // Whitespace anywhere between tokens does not change the value.
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen gen(seed * 104729);
    for (int i = 0; i < 50; ++i) {
      const Template t = gen.templ();
      std::string spaced = " \n( ";
      for (std::size_t k = 0; k < t.size(); ++k) {
        if (k > 0) spaced += "\t ,\r\n";
        spaced += to_text(t[k]);
      }
      spaced += "\n) \t";
      auto back = parse_template(spaced);
      ASSERT_TRUE(back.ok()) << spaced << " -> " << back.error();
      ASSERT_EQ(*back, t) << spaced;
    }
  }
}

TEST(JsonRoundTrip, RandomTuplesAreValidJsonThatSaysTheSame) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen gen(seed * 31337);
    for (int i = 0; i < kCasesPerSeed; ++i) {
      const Tuple t = gen.tuple();
      const std::string json = to_json(t);
      ASSERT_EQ(json.find('\n'), std::string::npos) << json;
      ASSERT_TRUE(valid_utf8(json)) << json;
      Json j;
      ASSERT_TRUE(JsonReader(json).read(j)) << json;
      ASSERT_EQ(j.kind, Json::kArray);
      ASSERT_EQ(j.items.size(), t.size());
      for (std::size_t k = 0; k < t.size(); ++k) {
        SCOPED_TRACE(json);
        expect_json_matches(j.items[k], t[k]);
      }
    }
  }
}

TEST(JsonRoundTrip, RandomTemplatesAreValidJson) {
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Gen gen(seed * 65537);
    for (int i = 0; i < kCasesPerSeed; ++i) {
      const Template t = gen.templ();
      const std::string json = to_json(t);
      Json j;
      ASSERT_TRUE(JsonReader(json).read(j)) << json;
      ASSERT_EQ(j.items.size(), t.size());
      for (std::size_t k = 0; k < t.size(); ++k) {
        if (t[k].is_value()) {
          expect_json_matches(j.items[k], t[k].value());
        } else {
          ASSERT_EQ(j.items[k].kind, Json::kObject);
          ASSERT_EQ(j.items[k].members.size(), 1u);
          const auto& [key, val] = j.items[k].members[0];
          if (t[k].is_any()) {
            EXPECT_EQ(key, "any");
            EXPECT_TRUE(val.kind == Json::kBool && val.b);
          } else {
            EXPECT_EQ(key, "type");
            EXPECT_EQ(val.text, type_name(t[k].type()));
          }
        }
      }
    }
  }
}

TEST(TextParse, LinearTimeOnLargeInputs) {
  // Bounded work on big inputs: a long string, a long number, many fields.
  const std::string long_string = "(\"" + std::string(1 << 20, 'x') + "\")";
  EXPECT_EQ(tuple_of(long_string)[0].as_string().size(), std::size_t{1} << 20);
  EXPECT_EQ(value_error("1" + std::string(1 << 20, '0')), "column 1: integer out of range");
  EXPECT_EQ(value_error("1." + std::string(1 << 20, '5')), "ok");
  std::string many = "(";
  for (int i = 0; i < 100000; ++i) many += i == 0 ? "1" : ", 1";
  many += ")";
  EXPECT_EQ(tuple_of(many).size(), 100000u);
}

}  // namespace
}  // namespace bastion::ts

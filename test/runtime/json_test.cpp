// The runtime's strict JSON parser.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "json.h"

namespace {

// Parses text from an exactly sized heap buffer, so a read past the end is
// caught by sanitizers (and by the NUL-free input).
struct Parsed {
  kiln_json_status status;
  kiln_json value;
  kiln_json_error error;
  std::vector<char> buffer;

  explicit Parsed(const std::string &text) : buffer(text.begin(), text.end()) {
    status = kiln_json_parse(buffer.empty() ? nullptr : buffer.data(), buffer.size(), &value,
                             &error);
  }
  ~Parsed() { kiln_json_free(&value); }
  Parsed(const Parsed &) = delete;
  Parsed &operator=(const Parsed &) = delete;
};

TEST(Json, Scalars) {
  {
    Parsed p("null");
    ASSERT_EQ(p.status, KILN_JSON_OK);
    EXPECT_EQ(p.value.kind, KILN_JSON_NULL);
  }
  {
    Parsed p(" \t\r\ntrue \n");
    ASSERT_EQ(p.status, KILN_JSON_OK);
    EXPECT_EQ(p.value.kind, KILN_JSON_BOOL);
    EXPECT_TRUE(p.value.u.boolean);
  }
  {
    Parsed p("false");
    ASSERT_EQ(p.status, KILN_JSON_OK);
    EXPECT_FALSE(p.value.u.boolean);
  }
  struct IntCase {
    const char *text;
    int64_t value;
  } ints[] = {{"0", 0},
              {"-0", 0},
              {"123", 123},
              {"-42", -42},
              {"9223372036854775807", INT64_MAX},
              {"-9223372036854775808", INT64_MIN}};
  for (const IntCase &c : ints) {
    Parsed p(c.text);
    ASSERT_EQ(p.status, KILN_JSON_OK) << c.text;
    EXPECT_EQ(p.value.kind, KILN_JSON_INT) << c.text;
    EXPECT_EQ(p.value.u.integer, c.value) << c.text;
  }
  struct NumberCase {
    const char *text;
    double value;
  } numbers[] = {{"1.5", 1.5},
                 {"-2.5e3", -2500.0},
                 {"1E-2", 0.01},
                 {"0.125", 0.125},
                 {"1e2", 100.0},
                 {"9223372036854775808", 9223372036854775808.0},
                 {"-9223372036854775809", -9223372036854775809.0},
                 {"123456789012345678901234567890", 1.2345678901234568e29},
                 {"1e-400", 0.0}};
  for (const NumberCase &c : numbers) {
    Parsed p(c.text);
    ASSERT_EQ(p.status, KILN_JSON_OK) << c.text;
    EXPECT_EQ(p.value.kind, KILN_JSON_NUMBER) << c.text;
    EXPECT_NEAR(p.value.u.number, c.value, std::abs(c.value) * 1e-14) << c.text;
  }
}

TEST(Json, ObjectsAndArrays) {
  Parsed p(R"({"b": [1, "two", {"c": null}], "a": {}, "e": [], "d": true})");
  ASSERT_EQ(p.status, KILN_JSON_OK) << p.error.message;
  ASSERT_EQ(p.value.kind, KILN_JSON_OBJECT);
  ASSERT_EQ(p.value.u.object.count, 4u);
  // Members keep input order.
  EXPECT_STREQ(p.value.u.object.members[0].key, "b");
  EXPECT_STREQ(p.value.u.object.members[3].key, "d");
  const kiln_json *b = kiln_json_get(&p.value, "b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->kind, KILN_JSON_ARRAY);
  ASSERT_EQ(b->u.array.count, 3u);
  EXPECT_EQ(b->u.array.items[0].u.integer, 1);
  EXPECT_STREQ(b->u.array.items[1].u.string.chars, "two");
  EXPECT_EQ(b->offset, 6u);
  const kiln_json *c = kiln_json_get(&b->u.array.items[2], "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, KILN_JSON_NULL);
  EXPECT_EQ(kiln_json_get(&p.value, "a")->u.object.count, 0u);
  EXPECT_EQ(kiln_json_get(&p.value, "e")->u.array.count, 0u);
  EXPECT_EQ(kiln_json_get(&p.value, "zz"), nullptr);
  EXPECT_EQ(kiln_json_get(b, "b"), nullptr); // not an object
}

TEST(Json, StringEscapes) {
  Parsed p(R"("q\" b\\ s\/ \b\f\n\r\t A\u0041 \u00e9 \u20AC \ud83d\ude00 é")");
  ASSERT_EQ(p.status, KILN_JSON_OK) << p.error.message;
  ASSERT_EQ(p.value.kind, KILN_JSON_STRING);
  std::string expected = "q\" b\\ s/ \b\f\n\r\t AA \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9";
  EXPECT_EQ(std::string(p.value.u.string.chars, p.value.u.string.len), expected);
  EXPECT_EQ(p.value.u.string.chars[p.value.u.string.len], '\0');

  Parsed nul(R"("a\u0000b")");
  ASSERT_EQ(nul.status, KILN_JSON_OK);
  EXPECT_EQ(nul.value.u.string.len, 3u);
  EXPECT_EQ(std::string(nul.value.u.string.chars, 3), std::string("a\0b", 3));
}

TEST(Json, RejectsInvalidInput) {
  const char *invalid[] = {
      "", " ", "{", "}", "[", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}",
      "{1:2}", "{a:1}", "'a'", "01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "0x10",
      "1.5.2", "NaN", "Infinity", "-Infinity", "1e400", "tru", "nul", "nulll", "True",
      "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\ud800\\u0041\"",
      "\"\\udc00\"", "\"a\tb\"", "\"a\nb\"", "\"\\\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"",
      "\"\xF5\x80\x80\x80\"", "\"\xE2\x82\"", "\"\x80\"", "\"\xF0\x8F\xBF\xBF\"",
      "{\"a\":1,\"a\":2}", "1 2", "[1] x", "{} {}", "\"a\" \"b\"", "/* c */ 1"};
  for (const char *text : invalid) {
    Parsed p(text);
    EXPECT_EQ(p.status, KILN_JSON_SYNTAX_ERROR) << "accepted: " << text;
    EXPECT_EQ(p.value.kind, KILN_JSON_NULL) << text;
    EXPECT_NE(p.error.message[0], '\0') << text;
  }
}

TEST(Json, ErrorOffsets) {
  Parsed a("[1, x]");
  EXPECT_EQ(a.status, KILN_JSON_SYNTAX_ERROR);
  EXPECT_EQ(a.error.offset, 4u);
  Parsed b("{\"k\": 1 \"j\": 2}");
  EXPECT_EQ(b.error.offset, 8u);
  EXPECT_NE(std::string(b.error.message).find("','"), std::string::npos) << b.error.message;
  Parsed c("{\"k\": 1, \"k\": 2}");
  EXPECT_NE(std::string(c.error.message).find("duplicate key \"k\""), std::string::npos)
      << c.error.message;
  Parsed d("[1, 2");
  EXPECT_EQ(d.error.offset, 5u);
}

TEST(Json, NestingDepthLimit) {
  auto nested = [](int depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  Parsed ok(nested(KILN_JSON_MAX_DEPTH));
  EXPECT_EQ(ok.status, KILN_JSON_OK);
  Parsed deep(nested(KILN_JSON_MAX_DEPTH + 1));
  EXPECT_EQ(deep.status, KILN_JSON_SYNTAX_ERROR);
  EXPECT_NE(std::string(deep.error.message).find("nesting"), std::string::npos);
  // Far deeper than any stack could take if the limit were missing.
  Parsed hostile(std::string(1000000, '['));
  EXPECT_EQ(hostile.status, KILN_JSON_SYNTAX_ERROR);
  std::string objects;
  for (int i = 0; i < 100000; ++i)
    objects += "{\"a\":";
  Parsed hostileObjects(objects);
  EXPECT_EQ(hostileObjects.status, KILN_JSON_SYNTAX_ERROR);
}

TEST(Json, EveryTruncationFails) {
  const std::string doc =
      R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "s": "\u00e9\n", "n": -1.5e-3, "t": true, "z": null})";
  {
    Parsed full(doc);
    ASSERT_EQ(full.status, KILN_JSON_OK) << full.error.message;
  }
  for (size_t len = 0; len < doc.size(); ++len) {
    Parsed p(doc.substr(0, len));
    EXPECT_EQ(p.status, KILN_JSON_SYNTAX_ERROR) << "prefix of length " << len;
    EXPECT_LE(p.error.offset, len);
  }
}

TEST(Json, RespectsLengthNotNul) {
  const char text[] = "1234";
  kiln_json v;
  ASSERT_EQ(kiln_json_parse(text, 3, &v, nullptr), KILN_JSON_OK);
  EXPECT_EQ(v.u.integer, 123);
  kiln_json_free(&v);
  // An embedded NUL is just an invalid character.
  const char withNul[] = "[1,\0 2]";
  EXPECT_EQ(kiln_json_parse(withNul, sizeof withNul - 1, &v, nullptr), KILN_JSON_SYNTAX_ERROR);
  EXPECT_EQ(kiln_json_parse(nullptr, 0, &v, nullptr), KILN_JSON_SYNTAX_ERROR);
}

} // namespace

// Validation of .safetensors files: kiln_st_open on files written by the tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "error.h"
#include "kiln/runtime.h"
#include "safetensors.h"
#include "safetensors_writer.h"

using namespace kiln::test;

namespace {

class Safetensors : public ::testing::Test {
protected:
  // Opens bytes written to a file; the message is this thread's last error.
  int32_t open(const std::string &bytes, const std::string &name = "w.safetensors") {
    kiln_st_close(&file_);
    path_ = dir_.write(name, bytes);
    int32_t status = kiln_st_open(path_.c_str(), &file_, nullptr);
    message_ = kiln_error_text(nullptr);
    return status;
  }
  void TearDown() override { kiln_st_close(&file_); }

  // Expects FORMAT with a message that mentions the file and every fragment.
  void expectFormat(const std::string &bytes, std::vector<std::string> fragments) {
    SCOPED_TRACE(testing::Message() << bytes.size() << " bytes: "
                                    << bytes.substr(std::min<size_t>(8, bytes.size())));
    EXPECT_EQ(open(bytes), KILN_ERROR_FORMAT) << message_;
    EXPECT_EQ(file_.count, 0u);
    EXPECT_EQ(file_.map, nullptr);
    fragments.push_back("'" + path_ + "'");
    for (const std::string &f : fragments)
      EXPECT_NE(message_.find(f), std::string::npos) << "'" << f << "' not in: " << message_;
  }

  TempDir dir_;
  kiln_st_file file_{};
  std::string path_, message_;
};

TEST_F(Safetensors, ValidFileLoads) {
  std::vector<StTensor> tensors = {
      f32Tensor("a", {2, 3}, 1.0f),
      {"ids", "I64", {2}, i64Bytes({7, -9})},
      {"flag", "BOOL", {}, std::string("\x01", 1)},
      {"empty", "F16", {0, 5}, ""},
      {"bytes", "U8", {3}, "xyz"},
  };
  ASSERT_EQ(open(buildSafetensors(tensors, 0, R"({"format": "pt"})")), KILN_OK) << message_;
  ASSERT_EQ(file_.count, 5u);
  EXPECT_NE(file_.map, nullptr);
  EXPECT_STREQ(file_.tensors[0].name, "a"); // header order
  EXPECT_STREQ(file_.tensors[4].name, "bytes");

  const kiln_st_tensor *a = kiln_st_find(&file_, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, KILN_DTYPE_F32);
  ASSERT_EQ(a->rank, 2);
  EXPECT_EQ(a->shape[0], 2);
  EXPECT_EQ(a->shape[1], 3);
  float values[6];
  std::memcpy(values, a->data, sizeof values);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[5], 6.0f);

  const kiln_st_tensor *ids = kiln_st_find(&file_, "ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, KILN_DTYPE_I64);
  int64_t id1;
  std::memcpy(&id1, ids->data + 8, 8);
  EXPECT_EQ(id1, -9);
  EXPECT_EQ(kiln_st_find(&file_, "flag")->rank, 0);
  EXPECT_EQ(kiln_st_find(&file_, "empty")->end, kiln_st_find(&file_, "empty")->begin);
  EXPECT_EQ(kiln_st_find(&file_, "__metadata__"), nullptr);
  EXPECT_EQ(kiln_st_find(&file_, "missing"), nullptr);
  EXPECT_EQ(kiln_st_find(&file_, "bytes")->data[2], 'z');
}

// kiln_st_open_copy (trained weights): the same tensors over a private copy
// of the file's bytes, big enough to take the huge-page path; writes to it
// never reach the file.
TEST_F(Safetensors, CopyReadsTheSameBytes) {
  std::vector<StTensor> tensors = {f32Tensor("big", {1024, 1024}, 0.5f), f32Tensor("b", {3}, 2.0f)};
  std::string bytes = buildSafetensors(tensors);
  ASSERT_EQ(open(bytes), KILN_OK) << message_;
  kiln_st_file copy{};
  ASSERT_EQ(kiln_st_open_copy(path_.c_str(), &copy, nullptr), KILN_OK);
  EXPECT_TRUE(copy.copied);
  EXPECT_FALSE(file_.copied);
  ASSERT_EQ(copy.map_size, bytes.size());
  EXPECT_EQ(std::memcmp(copy.map, bytes.data(), bytes.size()), 0);
  ASSERT_EQ(copy.count, 2u);
  const kiln_st_tensor *big = kiln_st_find(&copy, "big");
  ASSERT_NE(big, nullptr);
  const float nine = 9.0f;
  std::memcpy(const_cast<unsigned char *>(big->data), &nine, sizeof nine);
  kiln_st_close(&copy);
  EXPECT_EQ(copy.map, nullptr);
  kiln_st_file again{};
  ASSERT_EQ(kiln_st_open_copy(path_.c_str(), &again, nullptr), KILN_OK);
  float first = 0.0f;
  std::memcpy(&first, kiln_st_find(&again, "big")->data, sizeof first);
  EXPECT_EQ(first, 0.5f);
  kiln_st_close(&again);
}

TEST_F(Safetensors, CopyOfABadFileFailsCleanly) {
  std::string bytes = buildSafetensors({f32Tensor("a", {4}, 1.0f)});
  path_ = dir_.write("short.safetensors", bytes.substr(0, bytes.size() - 3));
  kiln_st_file copy{};
  EXPECT_EQ(kiln_st_open_copy(path_.c_str(), &copy, nullptr), KILN_ERROR_FORMAT);
  EXPECT_EQ(copy.map, nullptr);
  EXPECT_EQ(kiln_st_open_copy((path_ + ".missing").c_str(), &copy, nullptr), KILN_ERROR_IO);
}

TEST_F(Safetensors, EmptyHeaderObject) {
  ASSERT_EQ(open(rawSafetensors("{}", "")), KILN_OK) << message_;
  EXPECT_EQ(file_.count, 0u);
  EXPECT_EQ(kiln_st_find(&file_, "x"), nullptr);
}

TEST_F(Safetensors, TruncatedFiles) {
  const std::string good = buildSafetensors({f32Tensor("w", {4, 4})});
  const size_t header_end = 8 + (good.size() - 64 - 8);
  // Under 8 bytes: no complete length.
  for (size_t cut : {0, 1, 4, 7})
    expectFormat(good.substr(0, cut), {"truncated", std::to_string(cut) + " bytes"});
  // The length is there but the header is cut short.
  for (size_t cut : {size_t{8}, size_t{9}, header_end / 2, header_end - 1})
    expectFormat(good.substr(0, cut), {"truncated", "header says"});
  // The header is whole but the data is cut.
  for (size_t cut : {header_end, header_end + 1, header_end + 32, good.size() - 1})
    expectFormat(good.substr(0, cut), {"truncated", "'w'", "[0, 64)"});
}

TEST_F(Safetensors, HeaderLengthLargerThanFile) {
  expectFormat(lengthPrefix(1234) + "{}" + std::string(90, ' '),
               {"truncated", "header says 1234 bytes", "only 92 bytes"});
  expectFormat(lengthPrefix(UINT64_MAX) + "{}", {"not a safetensors file"});
  expectFormat(lengthPrefix(uint64_t{1} << 40) + "{}", {"not a safetensors file"});
}

TEST_F(Safetensors, InvalidJsonHeader) {
  expectFormat(rawSafetensors("{\"w\": {\"dtype\": \"F32\",", ""), {"invalid JSON header"});
  expectFormat(rawSafetensors("not json", ""), {"invalid JSON header", "at byte 0"});
  expectFormat(rawSafetensors("{\"a\":1,\"a\":1}", ""), {"invalid JSON header", "duplicate"});
  expectFormat(rawSafetensors("", ""), {"invalid JSON header"});
  expectFormat(rawSafetensors("[1, 2]", ""), {"not an object"});
  expectFormat(rawSafetensors("{\"w\": 5}", ""), {"'w'", "not described by a JSON object"});
}

TEST_F(Safetensors, UnknownDtype) {
  StTensor t = f32Tensor("w", {2});
  for (const char *dtype : {"I16", "F8_E4M3", "f32", "", "U64"}) {
    t.dtype = dtype;
    expectFormat(buildSafetensors({t}), {"'w'", "unsupported dtype \"" + std::string(dtype)});
  }
}

TEST_F(Safetensors, BadShapes) {
  const std::string data(8, '\0');
  expectFormat(rawSafetensors(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
               {"'w'", "shape"});
  expectFormat(rawSafetensors(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data),
               {"'w'", "shape"});
  expectFormat(rawSafetensors(R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", data),
               {"'w'", "\"shape\""});
  expectFormat(rawSafetensors(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", data),
               {"'w'", "\"shape\""});
  expectFormat(
      rawSafetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})",
                     data),
      {"'w'", "overflows"});
}

TEST_F(Safetensors, BadOffsets) {
  const std::string data(16, '\0');
  auto header = [](const std::string &offsets) {
    return R"({"w":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets + "}}";
  };
  expectFormat(rawSafetensors(header("[8, 24]"), data),
               {"'w'", "[8, 24)", "data section has 16 bytes"});
  expectFormat(rawSafetensors(header("[9223372036854775800, 9223372036854775807]"), data),
               {"'w'", "data section has 16 bytes"});
  expectFormat(rawSafetensors(header("[8, 0]"), data), {"'w'", "[8, 0]", "end before they begin"});
  expectFormat(rawSafetensors(header("[0, 12]"), data),
               {"'w'", "12 bytes of data", "f32[2] needs 8"});
  expectFormat(rawSafetensors(header("[4, 8]"), data), {"'w'", "4 bytes", "needs 8"});
  expectFormat(rawSafetensors(header("[-8, 0]"), data), {"'w'", "data_offsets"});
  expectFormat(rawSafetensors(header("[0]"), data), {"'w'", "data_offsets"});
  expectFormat(rawSafetensors(header("[0, 8, 16]"), data), {"'w'", "data_offsets"});
  expectFormat(rawSafetensors(header("\"0-8\""), data), {"'w'", "data_offsets"});
  expectFormat(rawSafetensors(R"({"w":{"dtype":"F32","shape":[2]}})", data),
               {"'w'", "data_offsets"});
}

TEST_F(Safetensors, NameWithNulIsRejected) {
  expectFormat(rawSafetensors(R"({"a\u0000b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                              "x"),
               {"NUL"});
}

TEST_F(Safetensors, IoErrors) {
  std::string missing = (dir_.path() / "does-not-exist.safetensors").string();
  EXPECT_EQ(kiln_st_open(missing.c_str(), &file_, nullptr), KILN_ERROR_IO);
  std::string message = kiln_error_text(nullptr);
  EXPECT_NE(message.find("'" + missing + "'"), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(ENOENT)), std::string::npos) << message;

  std::string directory = dir_.path().string();
  EXPECT_EQ(kiln_st_open(directory.c_str(), &file_, nullptr), KILN_ERROR_IO);
  EXPECT_NE(std::string(kiln_error_text(nullptr)).find("not a regular file"), std::string::npos);
}

TEST_F(Safetensors, ParseFromMemory) {
  std::string bytes = buildSafetensors({f32Tensor("w", {3}, 5.0f)});
  std::vector<unsigned char> exact(bytes.begin(), bytes.end());
  ASSERT_EQ(kiln_st_parse(exact.data(), exact.size(), "mem", &file_, nullptr), KILN_OK);
  EXPECT_EQ(file_.map, nullptr);
  ASSERT_EQ(file_.count, 1u);
  float first;
  std::memcpy(&first, file_.tensors[0].data, 4);
  EXPECT_EQ(first, 5.0f);
}

} // namespace

// The format requires the data section to be fully indexed: no two tensors
// share bytes, no bytes are left between them or after the last one.
TEST_F(Safetensors, DataMustBeFullyIndexed) {
  const std::string data(16, '\0');
  auto two = [](const std::string &a, const std::string &b) {
    return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a +
           R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" + b + "}}";
  };
  expectFormat(rawSafetensors(two("[0, 8]", "[0, 8]"), data.substr(0, 8)),
               {"overlapping tensors", "'a' [0, 8)", "'b' [0, 8)"});
  expectFormat(rawSafetensors(two("[0, 8]", "[4, 12]"), data.substr(0, 12)),
               {"overlapping tensors", "'a'", "'b' [4, 12)"});
  expectFormat(rawSafetensors(two("[0, 8]", "[12, 20]"), data + "1234"),
               {"4 bytes that no tensor indexes", "[8, 12)", "before tensor 'b'"});
  expectFormat(rawSafetensors(two("[8, 16]", "[16, 24]"), data + "12345678"),
               {"8 bytes that no tensor indexes", "[0, 8)", "before tensor 'a'"});
  expectFormat(rawSafetensors(two("[0, 8]", "[8, 16]"), data + "xyz"),
               {"3 bytes after its last tensor 'b'", "fully indexed"});
  expectFormat(rawSafetensors("{}", "junk"), {"4 bytes of data but no tensor", "fully indexed"});
  // In order or not, touching ranges are fine.
  EXPECT_EQ(open(rawSafetensors(two("[8, 16]", "[0, 8]"), data)), KILN_OK) << message_;
}

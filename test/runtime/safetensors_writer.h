// Builds .safetensors files for the runtime tests: valid ones, and the raw
// pieces (length prefix, header text, data) to assemble corrupted ones.
#ifndef KILN_TEST_RUNTIME_SAFETENSORS_WRITER_H
#define KILN_TEST_RUNTIME_SAFETENSORS_WRITER_H

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::test {

struct StTensor {
  std::string name;
  std::string dtype; // safetensors spelling: "F32", "I64", ...
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian bytes
};

// The bytes of a float vector / int64 vector, as stored in a file.
std::string f32Bytes(const std::vector<float> &values);
std::string i64Bytes(const std::vector<int64_t> &values);

// A tensor of dtype F32 whose element i is base + i.
StTensor f32Tensor(const std::string &name, std::vector<int64_t> shape, float base = 0);

// A valid file: tensors stored back to back in order. The header is padded
// with spaces so that the data section starts at a file offset congruent to
// dataStartMod modulo 8 (0: every tensor aligned to its element size; 1:
// misaligned). metadata, if not empty, is the JSON of "__metadata__".
std::string buildSafetensors(const std::vector<StTensor> &tensors, unsigned dataStartMod = 0,
                             const std::string &metadata = "");

// The JSON header buildSafetensors would write (unpadded).
std::string headerJson(const std::vector<StTensor> &tensors, const std::string &metadata = "");

// An 8-byte little-endian length, then header, then data: any header text.
std::string rawSafetensors(const std::string &header, const std::string &data);
std::string lengthPrefix(uint64_t length);

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  // Writes bytes to dir/name and returns the path.
  std::string write(const std::string &name, const std::string &bytes) const;
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace kiln::test

#endif

#include "safetensors_writer.h"

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace kiln::test {

std::string f32Bytes(const std::vector<float> &values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size()); // the tests run little-endian
  return out;
}

std::string i64Bytes(const std::vector<int64_t> &values) {
  std::string out(values.size() * sizeof(int64_t), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

StTensor f32Tensor(const std::string &name, std::vector<int64_t> shape, float base) {
  int64_t numel = 1;
  for (int64_t d : shape)
    numel *= d;
  std::vector<float> values(static_cast<size_t>(numel));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = base + static_cast<float>(i);
  return {name, "F32", std::move(shape), f32Bytes(values)};
}

std::string headerJson(const std::vector<StTensor> &tensors, const std::string &metadata) {
  std::ostringstream h;
  h << "{";
  bool first = true;
  if (!metadata.empty()) {
    h << "\"__metadata__\":" << metadata;
    first = false;
  }
  size_t offset = 0;
  for (const StTensor &t : tensors) {
    h << (first ? "" : ",") << "\"" << t.name << "\":{\"dtype\":\"" << t.dtype
      << "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      h << (i ? "," : "") << t.shape[i];
    h << "],\"data_offsets\":[" << offset << "," << offset + t.data.size() << "]}";
    offset += t.data.size();
    first = false;
  }
  h << "}";
  return h.str();
}

std::string lengthPrefix(uint64_t length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>(length >> (8 * i) & 0xFF);
  return out;
}

std::string rawSafetensors(const std::string &header, const std::string &data) {
  return lengthPrefix(header.size()) + header + data;
}

std::string buildSafetensors(const std::vector<StTensor> &tensors, unsigned dataStartMod,
                             const std::string &metadata) {
  std::string header = headerJson(tensors, metadata);
  while ((8 + header.size()) % 8 != dataStartMod % 8)
    header += ' '; // trailing whitespace is valid JSON; real writers pad too
  std::string data;
  for (const StTensor &t : tensors)
    data += t.data;
  return rawSafetensors(header, data);
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = std::filesystem::temp_directory_path() /
                     ("kiln-runtime-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string &name, const std::string &bytes) const {
  std::string file = (path_ / name).string();
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw std::runtime_error("cannot write " + file);
  return file;
}

} // namespace kiln::test

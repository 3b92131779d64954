// The matmul kernels, oneDNN's (kiln_rt_dnnl_matmul*_f32) and Kiln's own in
// f32 (kiln_rt_native_matmul*_f32) and bf16 (kiln_rt_native_bf16_matmul*_f32),
// against a double-precision reference (on the operands rounded to bf16 for
// the bf16 kernel): plain,
// transposed left / right operands (passed by strides), the linear layer's
// [B, S, K] x [O, K]^T folded to 2-D, a batch that cannot be folded (non-dense
// batch stride), 4-D batches with broadcasting, bias + each activation +
// residual, 1 and 2 threads, and the same shape called twice (cached
// primitive). Kiln's kernel also at every edge of its blocking, for each tile
// shape a target gets: rows around its tile, columns around its strip, depths
// around its 16-deep transposes and its k blocks, an empty depth, and
// products cut into many tasks; the bf16 kernel on AVX512-BF16's dot where
// the CPU has it and with f32 FMAs for every tile shape, and its rounding.
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernel_test_util.h"
#include "kernels.h"
#include "target.h"

namespace {

using kiln_test::Desc;
using kiln_test::ThreadCount;

enum { kTransposeA = 1, kTransposeB = 2, kActivationShift = 4 };

enum class Library { OneDnn, Native, NativeBf16 };

// One library's four kernels, which take the same operands and flags.
struct Kernels {
  decltype(&kiln_rt_dnnl_matmul_f32) plain;
  decltype(&kiln_rt_dnnl_matmul_bias_f32) bias;
  decltype(&kiln_rt_dnnl_matmul_residual_f32) residual;
  decltype(&kiln_rt_dnnl_matmul_bias_residual_f32) biasResidual;
};

const Kernels &kernelsOf(Library library) {
  static const Kernels oneDnn{kiln_rt_dnnl_matmul_f32, kiln_rt_dnnl_matmul_bias_f32,
                              kiln_rt_dnnl_matmul_residual_f32,
                              kiln_rt_dnnl_matmul_bias_residual_f32};
  static const Kernels native{kiln_rt_native_matmul_f32, kiln_rt_native_matmul_bias_f32,
                              kiln_rt_native_matmul_residual_f32,
                              kiln_rt_native_matmul_bias_residual_f32};
  static const Kernels nativeBf16{
      kiln_rt_native_bf16_matmul_f32, kiln_rt_native_bf16_matmul_bias_f32,
      kiln_rt_native_bf16_matmul_residual_f32, kiln_rt_native_bf16_matmul_bias_residual_f32};
  switch (library) {
  case Library::Native:
    return native;
  case Library::NativeBf16:
    return nativeBf16;
  default:
    return oneDnn;
  }
}

// x rounded to the nearest bf16 (ties to even), as an f32: what the bf16
// kernel multiplies (finite x).
float roundToBf16(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  return std::bit_cast<float>(u);
}

// An operand's element as the library multiplies it.
double operandOf(Library library, float x) {
  return library == Library::NativeBf16 ? roundToBf16(x) : x;
}
enum Activation { kNone, kRelu, kGeluErf, kGeluTanh, kSigmoid, kSilu, kQuickGelu };

std::vector<float> randoms(size_t n, uint32_t seed) { return kiln_test::uniformFloats(n, seed); }

double activate(int activation, double x) {
  switch (activation) {
  case kRelu:
    return x > 0 ? x : 0;
  case kGeluErf:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case kGeluTanh:
    return 0.5 * x * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case kSigmoid:
    return 1 / (1 + std::exp(-x));
  case kSilu:
    return x / (1 + std::exp(-x));
  case kQuickGelu:
    return x / (1 + std::exp(-1.702 * x));
  default:
    return x;
  }
}

// A strided rank-<=4 tensor as the reference reads it, right-aligned to
// rank 4 with size-1 dims broadcasting.
struct Tensor {
  const float *data;
  std::vector<int64_t> sizes, strides;
  float at(const int64_t (&idx)[4]) const {
    int64_t offset = 0, shift = 4 - static_cast<int64_t>(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i)
      offset += (sizes[i] == 1 ? 0 : idx[i + shift]) * strides[i];
    return data[offset];
  }
};

std::vector<int64_t> denseStrides(const std::vector<int64_t> &sizes) {
  std::vector<int64_t> strides(sizes.size());
  int64_t stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= sizes[i];
  }
  return strides;
}

struct Case {
  std::vector<int64_t> a, b, c; // logical shapes (before any transpose)
  int flags = 0;
  bool bias = false, residual = false;
};

// Runs the kernel on dense buffers (transposed operands stored transposed)
// and compares every element of c with the reference.
void check(Library library, const Case &k, int threads) {
  SCOPED_TRACE(testing::Message() << "m " << k.c[k.c.size() - 2] << ", n " << k.c.back() << ", k "
                                  << k.a.back() << ", flags " << k.flags);
  const Kernels &kernels = kernelsOf(library);
  auto operand = [library](float x) { return operandOf(library, x); };
  ThreadCount tc(threads);
  long fallbacksBefore = kiln_rt_dnnl_fallbacks();
  auto storedShape = [](std::vector<int64_t> shape, bool transposed) {
    if (transposed)
      std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    return shape;
  };
  auto numel = [](const std::vector<int64_t> &s) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    return n;
  };
  std::vector<int64_t> aStored = storedShape(k.a, k.flags & kTransposeA);
  std::vector<int64_t> bStored = storedShape(k.b, k.flags & kTransposeB);
  auto a = randoms(numel(aStored), 1), b = randoms(numel(bStored), 2);
  int64_t n = k.c.back();
  auto bias = randoms(n, 3), residual = randoms(numel(k.c), 4);
  std::vector<float> c(numel(k.c), 777.0f);

  Desc da(a.data(), aStored), db(b.data(), bStored), dc(c.data(), k.c);
  Desc dbias(bias.data(), {n}), dres(residual.data(), k.c);
  if (k.bias && k.residual)
    kernels.biasResidual(da.rank(), da.get(), db.rank(), db.get(), 1, dbias.get(), dres.rank(),
                         dres.get(), dc.rank(), dc.get(), k.flags);
  else if (k.bias)
    kernels.bias(da.rank(), da.get(), db.rank(), db.get(), 1, dbias.get(), dc.rank(), dc.get(),
                 k.flags);
  else if (k.residual)
    kernels.residual(da.rank(), da.get(), db.rank(), db.get(), dres.rank(), dres.get(), dc.rank(),
                     dc.get(), k.flags);
  else
    kernels.plain(da.rank(), da.get(), db.rank(), db.get(), dc.rank(), dc.get(), k.flags);

  // Logical views: a transposed operand reads its storage with swapped strides.
  auto logical = [&](const float *data, const std::vector<int64_t> &shape,
                     const std::vector<int64_t> &stored, bool transposed) {
    Tensor t{data, shape, denseStrides(stored)};
    if (transposed)
      std::swap(t.strides[t.strides.size() - 1], t.strides[t.strides.size() - 2]);
    return t;
  };
  Tensor ta = logical(a.data(), k.a, aStored, k.flags & kTransposeA);
  Tensor tb = logical(b.data(), k.b, bStored, k.flags & kTransposeB);
  Tensor tres{residual.data(), k.c, denseStrides(k.c)};
  std::vector<int64_t> c4(4 - k.c.size(), 1);
  c4.insert(c4.end(), k.c.begin(), k.c.end());
  int64_t depth = k.a.back();
  int activation = (k.flags >> kActivationShift) & 0xf;
  double maxErr = 0;
  int64_t flat = 0;
  for (int64_t i0 = 0; i0 < c4[0]; ++i0)
    for (int64_t i1 = 0; i1 < c4[1]; ++i1)
      for (int64_t m = 0; m < c4[2]; ++m)
        for (int64_t j = 0; j < c4[3]; ++j, ++flat) {
          double sum = 0;
          for (int64_t d = 0; d < depth; ++d)
            sum += operand(ta.at({i0, i1, m, d})) * operand(tb.at({i0, i1, d, j}));
          if (k.bias)
            sum += bias[j];
          sum = activate(activation, sum);
          if (k.residual)
            sum += tres.at({i0, i1, m, j});
          maxErr = std::max(maxErr, std::abs(sum - c[flat]));
        }
  EXPECT_LT(maxErr, 1e-4) << "threads=" << threads;
  EXPECT_EQ(kiln_rt_dnnl_fallbacks(), fallbacksBefore) << "oneDNN declined the problem";
}

class Matmul : public testing::TestWithParam<Library> {
protected:
  void check(const Case &k, int threads) { ::check(GetParam(), k, threads); }
};

TEST_P(Matmul, Plain2D) { check({{37, 50}, {50, 21}, {37, 21}}, 1); }

TEST_P(Matmul, TransposedOperands) {
  check({{37, 50}, {50, 21}, {37, 21}, kTransposeB}, 1);
  check({{37, 50}, {50, 21}, {37, 21}, kTransposeA}, 2);
  check({{37, 50}, {50, 21}, {37, 21}, kTransposeA | kTransposeB}, 1);
}

TEST_P(Matmul, LinearLayerFoldsBatchIntoRows) {
  for (int activation : {kNone, kRelu, kGeluErf, kGeluTanh, kSigmoid, kSilu, kQuickGelu})
    check({{3, 17, 64},
           {64, 48},
           {3, 17, 48},
           kTransposeB | (activation << kActivationShift),
           /*bias=*/true,
           /*residual=*/true},
          activation % 2 + 1);
}

TEST_P(Matmul, BatchedAndBroadcast) {
  // [B, H, S, D] x [B, H, D, T], k given transposed as attention scores are.
  check({{2, 3, 9, 16}, {2, 3, 16, 11}, {2, 3, 9, 11}, kTransposeB}, 2);
  // Broadcast of the right operand's batch: [B, 1, S, D] x [H, D, T].
  check({{2, 1, 9, 16}, {3, 16, 11}, {2, 3, 9, 11}}, 1);
  // A batched right operand with a rank-2 left one.
  check({{9, 16}, {4, 16, 11}, {4, 9, 11}, 0, false, true}, 1);
}

TEST_P(Matmul, NonFoldableBatchStride) {
  // a viewed as [B, S, K] over a [S, B, K] buffer: the batch stride is not
  // S * K, so the rows cannot be folded; the result must still be right.
  const int64_t B = 3, S = 5, K = 8, N = 6;
  auto a = randoms(S * B * K, 7), b = randoms(K * N, 8);
  std::vector<float> c(B * S * N);
  Desc da(a.data(), {B, S, K}, {K, B * K, 1}), db(b.data(), {K, N}), dc(c.data(), {B, S, N});
  long fallbacksBefore = kiln_rt_dnnl_fallbacks();
  kernelsOf(GetParam()).plain(3, da.get(), 2, db.get(), 3, dc.get(), 0);
  EXPECT_EQ(kiln_rt_dnnl_fallbacks(), fallbacksBefore);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t j = 0; j < N; ++j) {
        double sum = 0;
        for (int64_t d = 0; d < K; ++d)
          sum +=
              operandOf(GetParam(), a[s * B * K + i * K + d]) * operandOf(GetParam(), b[d * N + j]);
        EXPECT_NEAR(c[(i * S + s) * N + j], sum, 1e-4);
      }
}

TEST_P(Matmul, SecondCallIsTheSame) {
  Case k{{64, 128}, {128, 96}, {64, 96}, kTransposeB | (kGeluErf << kActivationShift), true};
  check(k, 1);
  check(k, 1);
  check(k, 2);
}

// Kiln's kernel at every edge of its blocking: m around its tile's rows, n
// around its strip's columns, k around its 16 x 16 transposes; b transposed
// (PyTorch's Linear weight, packed by transposes) and not (packed by copies);
// every epilogue. Then depths over several k blocks (c accumulated across
// them, the epilogue after the last), and products cut into many tasks, on 1
// and 2 threads.
void checkNativeBlocking(Library library) {
  int activation = 0;
  for (int64_t m : {1, 5, 6, 7, 11, 12, 13, 25})
    for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 70})
      for (int64_t k : {1, 15, 16, 17, 48})
        for (int flags : {0, int(kTransposeB)}) {
          activation = (activation + 1) % 7;
          check(library,
                {{m, k},
                 {k, n},
                 {m, n},
                 flags | (activation << kActivationShift),
                 m % 2 == 1,
                 n % 2 == 1},
                1);
        }
  for (int threads : {1, 2}) {
    check(
        library,
        {{30, 700}, {700, 40}, {30, 40}, kTransposeB | (kGeluErf << kActivationShift), true, true},
        threads);
    check(library, {{300, 96}, {96, 530}, {300, 530}, kTransposeA, false, true}, threads);
    check(library, {{4, 50, 64}, {64, 200}, {4, 50, 200}, kTransposeB, true}, threads);
  }
}

// The runtime built natively keeps target.h's default of 16 lanes: the
// AVX-512 tile (12 x 32).
TEST(NativeMatmul, Avx512Tile) { checkNativeBlocking(Library::Native); }

// The tiles kilnc picks for AVX2 (6 x 16) and SSE (2 x 16) targets, by the
// lanes it sets in each model.
TEST(NativeMatmul, Avx2AndSseTiles) {
  int32_t lanes = kiln_target_f32_lanes();
  for (int32_t target : {8, 4}) {
    SCOPED_TRACE(testing::Message() << target << " lanes");
    kiln_target_set_f32_lanes(target);
    checkNativeBlocking(Library::Native);
  }
  kiln_target_set_f32_lanes(lanes);
}

// An empty depth: c = act(bias) + residual.
TEST(NativeMatmul, EmptyDepth) {
  ::check(Library::Native, {{5, 0}, {0, 7}, {5, 7}, kSigmoid << kActivationShift, true, true}, 1);
}

// The bf16 kernel with AVX512-BF16's vdpbf16ps, where the CPU has it (a
// model for such a target gets these tiles).
TEST(NativeBf16Matmul, DotTiles) {
  if (!__builtin_cpu_supports("avx512bf16"))
    GTEST_SKIP() << "this CPU has no AVX512-BF16";
  kiln_target_set_bf16_dot(true);
  checkNativeBlocking(Library::NativeBf16);
  kiln_target_set_bf16_dot(false);
}

// The same products with f32 FMAs, for targets without the instruction: the
// AVX-512, AVX2 and SSE tile shapes.
TEST(NativeBf16Matmul, FmaTiles) {
  int32_t lanes = kiln_target_f32_lanes();
  for (int32_t target : {16, 8, 4}) {
    SCOPED_TRACE(testing::Message() << target << " lanes");
    kiln_target_set_f32_lanes(target);
    checkNativeBlocking(Library::NativeBf16);
  }
  kiln_target_set_f32_lanes(lanes);
}

// Operands round to the nearest bf16, ties to even, on both paths: 1 + 2^-8
// lies halfway between 1 and 1 + 2^-7 (odd) and goes to 1; 1 + 3 * 2^-8
// halfway between 1 + 2^-7 and 1 + 2^-6 (even) and goes up. A NaN stays one.
TEST(NativeBf16Matmul, RoundsToNearestEven) {
  bool dot = __builtin_cpu_supports("avx512bf16");
  for (bool useDot : {false, dot}) {
    kiln_target_set_bf16_dot(useDot);
    float a[3] = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, NAN}, b[1] = {1}, c[3] = {0, 0, 0};
    Desc da(a, {3, 1}), db(b, {1, 1}), dc(c, {3, 1});
    kiln_rt_native_bf16_matmul_f32(2, da.get(), 2, db.get(), 2, dc.get(), 0);
    EXPECT_EQ(c[0], 1.0f) << "dot " << useDot;
    EXPECT_EQ(c[1], 1 + 0x1p-6f) << "dot " << useDot;
    EXPECT_TRUE(std::isnan(c[2])) << "dot " << useDot;
  }
  kiln_target_set_bf16_dot(false);
}

INSTANTIATE_TEST_SUITE_P(Kernels, Matmul,
                         testing::Values(Library::OneDnn, Library::Native, Library::NativeBf16),
                         [](const testing::TestParamInfo<Library> &info) {
                           switch (info.param) {
                           case Library::Native:
                             return "Native";
                           case Library::NativeBf16:
                             return "NativeBf16";
                           default:
                             return "OneDnn";
                           }
                         });

} // namespace

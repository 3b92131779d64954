// Hand-written oneDNN primitive chains for the bench: primitives are created
// once with static shapes (weights reordered once into oneDNN's preferred
// layout), then only executed. Buffers are the caller's (zero copies).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace bench::onednn {

dnnl::engine &engine();
dnnl::stream &stream();

// Log-softmax over the last axis of [N, C]: forward_training (dst = log_softmax(src))
// and backward (diff_src = diff_dst - exp(dst) * sum(diff_dst)).
class LogSoftmax {
public:
  LogSoftmax(int64_t N, int64_t C, float *src, float *dst, float *diffDst, float *diffSrc);
  void forward();
  void backward();

private:
  dnnl::memory src_, dst_, diffDst_, diffSrc_;
  dnnl::softmax_v2_forward fwd_;
  dnnl::softmax_v2_backward bwd_;
};

// Unfused attention over BH = batch * heads independent problems:
// S = scale * Q K^T (causal: per head, + a 0/-inf mask as a binary-add post-op), softmax_v2 in
// place on S, out = S V. Q: [BH, S, D], K, V: [BH, T, D], out: [BH, S, D].
class Attention {
public:
  Attention(int64_t BH, int64_t S, int64_t T, int64_t D, bool causal, float scale,
            const float *q, const float *k, const float *v, float *out);
  void run();

private:
  std::vector<float> scores_, mask_;
  dnnl::memory q_, kT_, v_, out_, s_, maskMem_;
  std::vector<dnnl::memory> headQ_, headKT_, headS_; // causal: per-head views
  dnnl::matmul qk_, pv_;
  dnnl::softmax_v2_forward softmax_;
  bool causal_;
};

// Two Linear layers, x [M, K] -> [M, N1] -> [M, N2], weights in PyTorch's [out, in]
// layout. With epilogue: bias + gelu_erf post-ops on the first, bias on the second
// (the LLaVA projector); without: the two bare matmuls.
class Projector {
public:
  Projector(int64_t M, int64_t K, int64_t N1, int64_t N2, bool epilogue, const float *x,
            const float *w1, const float *b1, const float *w2, const float *b2, float *out);
  void run();

private:
  std::vector<float> hidden_;
  dnnl::memory x_, w1_, b1_, h_, w2_, b2_, out_;
  dnnl::matmul mm1_, mm2_;
  bool epilogue_;
};

} // namespace bench::onednn

#include "onednn.h"

#include <cmath>
#include <limits>
#include <unordered_map>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace bench::onednn {

dnnl::engine &engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream &stream() {
  static dnnl::stream s(engine());
  return s;
}

static memory wrap(const memory::desc &md, const float *p) {
  return memory(md, engine(), const_cast<float *>(p));
}

// Weights [out, in] row-major seen as a matmul B of dims [in, out] (tag ba),
// reordered once into the layout the primitive prefers.
static memory prepareWeights(const matmul::primitive_desc &pd, const memory::desc &user,
                             const float *p) {
  memory userMem = wrap(user, p);
  if (pd.weights_desc() == user)
    return userMem;
  memory packed(pd.weights_desc(), engine());
  reorder(userMem, packed).execute(stream(), userMem, packed);
  stream().wait();
  return packed;
}

// ---- softmax ----

LogSoftmax::LogSoftmax(int64_t N, int64_t C, float *src, float *dst, float *diffDst,
                       float *diffSrc) {
  memory::desc md({N, C}, dt::f32, tag::ab);
  src_ = wrap(md, src);
  dst_ = wrap(md, dst);
  diffDst_ = wrap(md, diffDst);
  diffSrc_ = wrap(md, diffSrc);
  softmax_v2_forward::primitive_desc fpd(
      softmax_v2_forward::desc(prop_kind::forward_training, algorithm::softmax_log, md, md, 1),
      engine());
  fwd_ = softmax_v2_forward(fpd);
  softmax_v2_backward::primitive_desc bpd(
      softmax_v2_backward::desc(algorithm::softmax_log, md, md, md, 1), engine(), fpd);
  bwd_ = softmax_v2_backward(bpd);
}

void LogSoftmax::forward() {
  fwd_.execute(stream(), {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}});
  stream().wait();
}

void LogSoftmax::backward() {
  bwd_.execute(stream(),
               {{DNNL_ARG_DST, dst_}, {DNNL_ARG_DIFF_DST, diffDst_}, {DNNL_ARG_DIFF_SRC, diffSrc_}});
  stream().wait();
}

// ---- attention ----

Attention::Attention(int64_t BH, int64_t S, int64_t T, int64_t D, bool causal, float scale,
                     const float *q, const float *k, const float *v, float *out)
    : causal_(causal) {
  scores_.resize((size_t)(BH * S * T));
  memory::desc qMd({BH, S, D}, dt::f32, tag::abc);
  // K stored [BH, T, D] read as K^T [BH, D, T]: strides {T*D, 1, D}.
  memory::desc kTMd({BH, D, T}, dt::f32, memory::dims{T * D, 1, D});
  memory::desc vMd({BH, T, D}, dt::f32, tag::abc);
  memory::desc sMd({BH, S, T}, dt::f32, tag::abc);
  q_ = wrap(qMd, q);
  kT_ = wrap(kTMd, k);
  v_ = wrap(vMd, v);
  out_ = wrap(qMd, out);
  s_ = wrap(sMd, scores_.data());

  post_ops po;
  po.append_eltwise(1.f, algorithm::eltwise_linear, scale, 0.f);
  if (causal) {
    // A [1, S, T] mask broadcast over the batch as a binary post-op sends
    // oneDNN 2.6 to a reference kernel (~500x slower), so the causal chain runs
    // one 2-D matmul per head with an [S, T] mask of 0 / -inf added in its epilogue.
    mask_.assign((size_t)(S * T), 0.f);
    for (int64_t i = 0; i < S; ++i)
      for (int64_t j = i + 1; j < T; ++j)
        mask_[(size_t)(i * T + j)] = -std::numeric_limits<float>::infinity();
    memory::desc maskMd({S, T}, dt::f32, tag::ab);
    maskMem_ = wrap(maskMd, mask_.data());
    po.append_binary(algorithm::binary_add, maskMd);
    primitive_attr attr;
    attr.set_post_ops(po);
    memory::desc q2({S, D}, dt::f32, tag::ab), kT2({D, T}, dt::f32, memory::dims{1, D}),
        s2({S, T}, dt::f32, tag::ab);
    qk_ = matmul(matmul::primitive_desc(matmul::desc(q2, kT2, s2), attr, engine()));
    for (int64_t h = 0; h < BH; ++h) {
      headQ_.push_back(wrap(q2, q + h * S * D));
      headKT_.push_back(wrap(kT2, k + h * T * D));
      headS_.push_back(wrap(s2, scores_.data() + h * S * T));
    }
  } else {
    primitive_attr attr;
    attr.set_post_ops(po);
    qk_ = matmul(matmul::primitive_desc(matmul::desc(qMd, kTMd, sMd), attr, engine()));
  }
  softmax_ = softmax_v2_forward(softmax_v2_forward::primitive_desc(
      softmax_v2_forward::desc(prop_kind::forward_inference, algorithm::softmax_accurate, sMd,
                               sMd, 2),
      engine()));
  pv_ = matmul(matmul::primitive_desc(matmul::desc(sMd, vMd, qMd), engine()));
}

void Attention::run() {
  if (causal_) {
    for (size_t h = 0; h < headQ_.size(); ++h)
      qk_.execute(stream(), {{DNNL_ARG_SRC, headQ_[h]},
                             {DNNL_ARG_WEIGHTS, headKT_[h]},
                             {DNNL_ARG_DST, headS_[h]},
                             {DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, maskMem_}});
  } else {
    qk_.execute(stream(), {{DNNL_ARG_SRC, q_}, {DNNL_ARG_WEIGHTS, kT_}, {DNNL_ARG_DST, s_}});
  }
  softmax_.execute(stream(), {{DNNL_ARG_SRC, s_}, {DNNL_ARG_DST, s_}});
  pv_.execute(stream(), {{DNNL_ARG_SRC, s_}, {DNNL_ARG_WEIGHTS, v_}, {DNNL_ARG_DST, out_}});
  stream().wait();
}

// ---- projector ----

Projector::Projector(int64_t M, int64_t K, int64_t N1, int64_t N2, bool epilogue,
                     const float *x, const float *w1, const float *b1, const float *w2,
                     const float *b2, float *out)
    : epilogue_(epilogue) {
  hidden_.resize((size_t)(M * N1));
  memory::desc xMd({M, K}, dt::f32, tag::ab), hMd({M, N1}, dt::f32, tag::ab),
      oMd({M, N2}, dt::f32, tag::ab);
  memory::desc w1User({K, N1}, dt::f32, tag::ba), w2User({N1, N2}, dt::f32, tag::ba);
  memory::desc w1Any({K, N1}, dt::f32, tag::any), w2Any({N1, N2}, dt::f32, tag::any);
  memory::desc b1Md({1, N1}, dt::f32, tag::ab), b2Md({1, N2}, dt::f32, tag::ab);
  x_ = wrap(xMd, x);
  h_ = wrap(hMd, hidden_.data());
  out_ = wrap(oMd, out);
  matmul::primitive_desc pd1, pd2;
  if (epilogue) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
    primitive_attr attr;
    attr.set_post_ops(po);
    pd1 = matmul::primitive_desc(matmul::desc(xMd, w1Any, b1Md, hMd), attr, engine());
    pd2 = matmul::primitive_desc(matmul::desc(hMd, w2Any, b2Md, oMd), engine());
    b1_ = wrap(b1Md, b1);
    b2_ = wrap(b2Md, b2);
  } else {
    pd1 = matmul::primitive_desc(matmul::desc(xMd, w1Any, hMd), engine());
    pd2 = matmul::primitive_desc(matmul::desc(hMd, w2Any, oMd), engine());
  }
  w1_ = prepareWeights(pd1, w1User, w1);
  w2_ = prepareWeights(pd2, w2User, w2);
  mm1_ = matmul(pd1);
  mm2_ = matmul(pd2);
}

void Projector::run() {
  if (epilogue_) {
    mm1_.execute(stream(), {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, w1_}, {DNNL_ARG_BIAS, b1_},
                            {DNNL_ARG_DST, h_}});
    mm2_.execute(stream(), {{DNNL_ARG_SRC, h_}, {DNNL_ARG_WEIGHTS, w2_}, {DNNL_ARG_BIAS, b2_},
                            {DNNL_ARG_DST, out_}});
  } else {
    mm1_.execute(stream(), {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, w1_}, {DNNL_ARG_DST, h_}});
    mm2_.execute(stream(), {{DNNL_ARG_SRC, h_}, {DNNL_ARG_WEIGHTS, w2_}, {DNNL_ARG_DST, out_}});
  }
  stream().wait();
}

} // namespace bench::onednn

//===- Builtins.cpp - The builtin functions of Kiln -----------------------===//
#include "frontend/Builtins.h"

using namespace kiln;

namespace {
using P = BuiltinParam;
const P kUnary[] = {{"x", P::Tensor, true, {}}};
const P kAxisOp[] = {{"x", P::Tensor, true, {}}, {"axis", P::Int, false, -1}};
const P kCrossEntropy[] = {{"logits", P::Tensor, true, {}}, {"targets", P::Tensor, true, {}}};
const P kReduce[] = {{"x", P::Tensor, true, {}},
                     {"axis", P::Int, false, std::nullopt},
                     {"keepdim", P::Bool, false, 0}};
const P kTranspose[] = {
    {"x", P::Tensor, true, {}}, {"dim0", P::Int, false, -2}, {"dim1", P::Int, false, -1}};
const P kBinary[] = {{"a", P::Tensor, true, {}}, {"b", P::Tensor, true, {}}};
const P kClamp[] = {
    {"x", P::Tensor, true, {}}, {"min", P::Float, false, {}}, {"max", P::Float, false, {}}};
const P kWhere[] = {
    {"cond", P::Tensor, true, {}}, {"a", P::Tensor, true, {}}, {"b", P::Tensor, true, {}}};
const P kLayerNorm[] = {{"x", P::Tensor, true, {}},
                        {"weight", P::Tensor, true, {}},
                        {"bias", P::Tensor, true, {}},
                        {"eps", P::Float, false, {}}};
const P kRmsNorm[] = {
    {"x", P::Tensor, true, {}}, {"weight", P::Tensor, true, {}}, {"eps", P::Float, false, {}}};
const P kEmbedding[] = {{"weight", P::Tensor, true, {}}, {"ids", P::Tensor, true, {}}};
// Variadic builtins: up to 8 trailing dims, axes or inputs.
const P kReshape[] = {
    {"x", P::Tensor, true, {}}, {"d0", P::Dim, true, {}},  {"d1", P::Dim, false, {}},
    {"d2", P::Dim, false, {}},  {"d3", P::Dim, false, {}}, {"d4", P::Dim, false, {}},
    {"d5", P::Dim, false, {}},  {"d6", P::Dim, false, {}}, {"d7", P::Dim, false, {}}};
const P kPermute[] = {
    {"x", P::Tensor, true, {}}, {"p0", P::Int, true, {}},  {"p1", P::Int, false, {}},
    {"p2", P::Int, false, {}},  {"p3", P::Int, false, {}}, {"p4", P::Int, false, {}},
    {"p5", P::Int, false, {}},  {"p6", P::Int, false, {}}, {"p7", P::Int, false, {}}};
const P kConcat[] = {
    {"t0", P::Tensor, true, {}},  {"t1", P::Tensor, true, {}},  {"t2", P::Tensor, false, {}},
    {"t3", P::Tensor, false, {}}, {"t4", P::Tensor, false, {}}, {"t5", P::Tensor, false, {}},
    {"t6", P::Tensor, false, {}}, {"t7", P::Tensor, false, {}}, {"axis", P::Int, false, 0}};
const P kSlice[] = {{"x", P::Tensor, true, {}},
                    {"axis", P::Int, true, {}},
                    {"start", P::Int, false, 0},
                    {"end", P::Int, false, std::nullopt}};
const P kSelect[] = {
    {"x", P::Tensor, true, {}}, {"axis", P::Int, true, {}}, {"index", P::Int, true, {}}};
const P kAttention[] = {{"q", P::Tensor, true, {}},    {"k", P::Tensor, true, {}},
                        {"v", P::Tensor, true, {}},    {"mask", P::Tensor, false, {}},
                        {"causal", P::Bool, false, 0}, {"scale", P::Float, false, {}},
                        {"bias", P::Tensor, false, {}}};
const P kConv2D[] = {{"x", P::Tensor, true, {}},
                     {"weight", P::Tensor, true, {}},
                     {"bias", P::Tensor, false, {}},
                     {"stride", P::Int, false, 1}};
const P kKlDiv[] = {{"log_input", P::Tensor, true, {}}, {"target", P::Tensor, true, {}}};
const P kL2Normalize[] = {
    {"x", P::Tensor, true, {}}, {"axis", P::Int, false, -1}, {"eps", P::Float, false, {}}};
const P kCosineSimilarity[] = {{"a", P::Tensor, true, {}},
                               {"b", P::Tensor, true, {}},
                               {"axis", P::Int, false, -1},
                               {"eps", P::Float, false, {}}};
const P kArgmax[] = {{"x", P::Tensor, true, {}}, {"axis", P::Int, true, {}}};
const P kArange[] = {{"n", P::Dim, true, {}}};
const P kOneHot[] = {{"ids", P::Tensor, true, {}}, {"num_classes", P::Int, true, {}}};
const P kFullLike[] = {{"x", P::Tensor, true, {}}, {"value", P::Float, true, {}}};
const P kIndexSelect[] = {
    {"x", P::Tensor, true, {}}, {"axis", P::Int, true, {}}, {"indices", P::Tensor, true, {}}};
const P kScatterAdd[] = {
    {"init", P::Tensor, true, {}}, {"indices", P::Tensor, true, {}}, {"src", P::Tensor, true, {}}};
const P kSegmentSum[] = {
    {"src", P::Tensor, true, {}}, {"ids", P::Tensor, true, {}}, {"like", P::Tensor, true, {}}};

const BuiltinInfo kBuiltins[] = {
    {"relu", BuiltinKind::Relu, kUnary, "relu(x)"},
    {"sigmoid", BuiltinKind::Sigmoid, kUnary, "sigmoid(x)"},
    {"tanh", BuiltinKind::Tanh, kUnary, "tanh(x)"},
    {"exp", BuiltinKind::Exp, kUnary, "exp(x)"},
    {"log", BuiltinKind::Log, kUnary, "log(x)"},
    {"sqrt", BuiltinKind::Sqrt, kUnary, "sqrt(x)"},
    {"softmax", BuiltinKind::Softmax, kAxisOp, "softmax(x, axis=-1)"},
    {"log_softmax", BuiltinKind::LogSoftmax, kAxisOp, "log_softmax(x, axis=-1)"},
    {"cross_entropy", BuiltinKind::CrossEntropy, kCrossEntropy, "cross_entropy(logits, targets)"},
    {"sum", BuiltinKind::Sum, kReduce, "sum(x, axis=<all>, keepdim=false)"},
    {"mean", BuiltinKind::Mean, kReduce, "mean(x, axis=<all>, keepdim=false)"},
    {"max", BuiltinKind::Max, kReduce, "max(x, axis=<all>, keepdim=false)"},
    {"transpose", BuiltinKind::Transpose, kTranspose, "transpose(x, dim0=-2, dim1=-1)"},
    {"matmul", BuiltinKind::Matmul, kBinary, "matmul(a, b)"},
    {"maximum", BuiltinKind::Maximum, kBinary, "maximum(a, b)"},
    {"minimum", BuiltinKind::Minimum, kBinary, "minimum(a, b)"},
    {"gelu", BuiltinKind::Gelu, kUnary, "gelu(x)"},
    {"gelu_tanh", BuiltinKind::GeluTanh, kUnary, "gelu_tanh(x)"},
    {"rsqrt", BuiltinKind::Rsqrt, kUnary, "rsqrt(x)"},
    {"abs", BuiltinKind::Abs, kUnary, "abs(x)"},
    {"sin", BuiltinKind::Sin, kUnary, "sin(x)"},
    {"cos", BuiltinKind::Cos, kUnary, "cos(x)"},
    {"pow", BuiltinKind::Pow, kBinary, "pow(a, b)"},
    {"clamp", BuiltinKind::Clamp, kClamp, "clamp(x, min=-inf, max=inf)"},
    {"where", BuiltinKind::Where, kWhere, "where(cond, a, b)"},
    {"to_f32", BuiltinKind::ToF32, kUnary, "to_f32(x)"},
    {"to_i64", BuiltinKind::ToI64, kUnary, "to_i64(x)"},
    {"to_i32", BuiltinKind::ToI32, kUnary, "to_i32(x)"},
    {"layer_norm", BuiltinKind::LayerNorm, kLayerNorm, "layer_norm(x, weight, bias, eps=1e-5)"},
    {"rms_norm", BuiltinKind::RmsNorm, kRmsNorm, "rms_norm(x, weight, eps=1e-6)"},
    {"embedding", BuiltinKind::Embedding, kEmbedding, "embedding(weight, ids)"},
    {"reshape", BuiltinKind::Reshape, kReshape, "reshape(x, dims...)"},
    {"permute", BuiltinKind::Permute, kPermute, "permute(x, dims...)"},
    {"slice", BuiltinKind::Slice, kSlice, "slice(x, axis, start=0, end=<end>)"},
    {"select", BuiltinKind::Select, kSelect, "select(x, axis, index)"},
    {"concat", BuiltinKind::Concat, kConcat, "concat(tensors..., axis=0)"},
    {"attention", BuiltinKind::Attention, kAttention,
     "attention(q, k, v, mask=<none>, causal=false, scale=1/sqrt(D), bias=<none>)"},
    {"conv2d", BuiltinKind::Conv2D, kConv2D, "conv2d(x, weight, bias=<none>, stride=1)"},
    {"kl_div", BuiltinKind::KlDiv, kKlDiv, "kl_div(log_input, target)"},
    {"l2_normalize", BuiltinKind::L2Normalize, kL2Normalize, "l2_normalize(x, axis=-1, eps=1e-12)"},
    {"cosine_similarity", BuiltinKind::CosineSimilarity, kCosineSimilarity,
     "cosine_similarity(a, b, axis=-1, eps=1e-8)"},
    {"argmax", BuiltinKind::Argmax, kArgmax, "argmax(x, axis)"},
    {"arange", BuiltinKind::Arange, kArange, "arange(n)"},
    {"one_hot", BuiltinKind::OneHot, kOneHot, "one_hot(ids, num_classes)"},
    {"zeros_like", BuiltinKind::ZerosLike, kUnary, "zeros_like(x)"},
    {"ones_like", BuiltinKind::OnesLike, kUnary, "ones_like(x)"},
    {"full_like", BuiltinKind::FullLike, kFullLike, "full_like(x, value)"},
    {"index_select", BuiltinKind::IndexSelect, kIndexSelect, "index_select(x, axis, indices)"},
    {"scatter_add", BuiltinKind::ScatterAdd, kScatterAdd, "scatter_add(init, indices, src)"},
    {"segment_sum", BuiltinKind::SegmentSum, kSegmentSum, "segment_sum(src, ids, like)"},
};
} // namespace

llvm::ArrayRef<BuiltinInfo> kiln::getBuiltins() { return kBuiltins; }

const BuiltinInfo *kiln::lookupBuiltin(llvm::StringRef name) {
  for (const BuiltinInfo &info : kBuiltins)
    if (info.name == name)
      return &info;
  return nullptr;
}

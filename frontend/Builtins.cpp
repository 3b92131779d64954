//===- Builtins.cpp - The builtin functions of Kiln -----------------------===//
#include "frontend/Builtins.h"

using namespace kiln;

namespace {
using P = BuiltinParam;
const P kUnary[] = {{"x", P::Tensor, true, {}}};
const P kAxisOp[] = {{"x", P::Tensor, true, {}}, {"axis", P::Int, false, -1}};
const P kCrossEntropy[] = {{"logits", P::Tensor, true, {}},
                           {"targets", P::Tensor, true, {}}};
const P kReduce[] = {{"x", P::Tensor, true, {}},
                     {"axis", P::Int, false, std::nullopt},
                     {"keepdim", P::Bool, false, 0}};
const P kTranspose[] = {{"x", P::Tensor, true, {}},
                        {"dim0", P::Int, false, -2},
                        {"dim1", P::Int, false, -1}};
const P kBinary[] = {{"a", P::Tensor, true, {}}, {"b", P::Tensor, true, {}}};

const BuiltinInfo kBuiltins[] = {
    {"relu", BuiltinKind::Relu, kUnary, "relu(x)"},
    {"sigmoid", BuiltinKind::Sigmoid, kUnary, "sigmoid(x)"},
    {"tanh", BuiltinKind::Tanh, kUnary, "tanh(x)"},
    {"exp", BuiltinKind::Exp, kUnary, "exp(x)"},
    {"log", BuiltinKind::Log, kUnary, "log(x)"},
    {"sqrt", BuiltinKind::Sqrt, kUnary, "sqrt(x)"},
    {"softmax", BuiltinKind::Softmax, kAxisOp, "softmax(x, axis=-1)"},
    {"log_softmax", BuiltinKind::LogSoftmax, kAxisOp,
     "log_softmax(x, axis=-1)"},
    {"cross_entropy", BuiltinKind::CrossEntropy, kCrossEntropy,
     "cross_entropy(logits, targets)"},
    {"sum", BuiltinKind::Sum, kReduce, "sum(x, axis=<all>, keepdim=false)"},
    {"mean", BuiltinKind::Mean, kReduce, "mean(x, axis=<all>, keepdim=false)"},
    {"max", BuiltinKind::Max, kReduce, "max(x, axis=<all>, keepdim=false)"},
    {"transpose", BuiltinKind::Transpose, kTranspose,
     "transpose(x, dim0=-2, dim1=-1)"},
    {"matmul", BuiltinKind::Matmul, kBinary, "matmul(a, b)"},
    {"maximum", BuiltinKind::Maximum, kBinary, "maximum(a, b)"},
    {"minimum", BuiltinKind::Minimum, kBinary, "minimum(a, b)"},
};
} // namespace

llvm::ArrayRef<BuiltinInfo> kiln::getBuiltins() { return kBuiltins; }

const BuiltinInfo *kiln::lookupBuiltin(llvm::StringRef name) {
  for (const BuiltinInfo &info : kBuiltins)
    if (info.name == name)
      return &info;
  return nullptr;
}

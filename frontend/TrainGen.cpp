//===- TrainGen.cpp - Emits train entries ---------------------------------===//
//
// A train entry is its loss method emitted as an entry, tagged with the
// parameters it trains (kiln.train); kiln-autodiff later appends the
// backward pass. Which parameters train is known only here, with the
// instance tree: `train:` and `freeze:` patterns are matched against the
// parameters' state_dict paths.
//
//===----------------------------------------------------------------------===//
#include "frontend/MLIRGen.h"

#include "dialects/Kiln/KilnOps.h"
#include "llvm/Support/GlobPattern.h"

using namespace kiln;
using llvm::StringRef;

void MLIRGen::emitTrain(const Instance &root, const TrainDecl &train) {
  const FnDecl &lossFn = *train.resolvedLoss;
  const Signature *signature = getSignature(root, lossFn);
  if (!signature)
    return; // Reported by the check.
  if (signature->results.size() != 1 ||
      signature->results[0] != TensorType::getScalar(ElementType::f32)) {
    std::string returns;
    for (const TensorType &type : signature->results)
      returns += (returns.empty() ? "" : ", ") + type.str();
    diags.error(train.loss->loc, "the loss '" + lossFn.getName() +
                                     "' must return one f32 scalar; it returns " +
                                     (returns.empty() ? "nothing" : returns));
    return;
  }

  // The trained parameters: those `train:` patterns match (all when there
  // are none), less those `freeze:` patterns match. Every pattern must match.
  llvm::SmallVector<const InstanceParam *> params;
  root.collectParams(params);
  auto matcher = [&](const StringLit &pattern) -> std::optional<llvm::GlobPattern> {
    auto glob = llvm::GlobPattern::create(pattern.value);
    if (!glob) {
      diags.error(pattern.loc, "bad pattern '" + pattern.value +
                                   "': " + llvm::toString(glob.takeError()));
      return std::nullopt;
    }
    bool any = llvm::any_of(params, [&](const InstanceParam *p) { return glob->match(p->path); });
    if (!any) {
      diags.error(pattern.loc, "pattern '" + pattern.value + "' matches no parameter of '" +
                                   root.getDecl().getName() + "'");
      return std::nullopt;
    }
    return std::move(*glob);
  };
  llvm::SmallVector<llvm::GlobPattern> trainGlobs, freezeGlobs;
  bool ok = true;
  for (const StringLit &pattern : train.train)
    if (auto glob = matcher(pattern))
      trainGlobs.push_back(std::move(*glob));
    else
      ok = false;
  for (const StringLit &pattern : train.freeze)
    if (auto glob = matcher(pattern))
      freezeGlobs.push_back(std::move(*glob));
    else
      ok = false;
  if (!ok)
    return;
  auto matches = [](llvm::ArrayRef<llvm::GlobPattern> globs, StringRef path) {
    return llvm::any_of(globs, [&](const llvm::GlobPattern &g) { return g.match(path); });
  };
  llvm::SmallVector<mlir::Attribute> trained, frozen;
  for (const InstanceParam *param : params) {
    bool frozenByPattern = matches(freezeGlobs, param->path);
    if (frozenByPattern)
      frozen.push_back(builder.getStringAttr(param->path));
    else if (trainGlobs.empty() || matches(trainGlobs, param->path))
      trained.push_back(builder.getStringAttr(param->path));
  }
  if (trained.empty()) {
    diags.error(train.getLoc(), "train entry '" + train.getName() + "' trains no parameter");
    return;
  }

  mlir::func::FuncOp func = emitEntry(root, lossFn, train.getName());
  if (!func)
    return;
  func.setResultAttr(0, kArgNameAttrName, builder.getStringAttr("loss"));
  llvm::SmallVector<mlir::NamedAttribute> settings = {
      builder.getNamedAttr("params", builder.getArrayAttr(trained)),
      builder.getNamedAttr("frozen", builder.getArrayAttr(frozen)),
      builder.getNamedAttr("optimizer", builder.getStringAttr(train.optimizer->name))};
  for (auto [name, value] : train.resolvedSettings)
    settings.push_back(builder.getNamedAttr(name, builder.getF64FloatAttr(value)));
  if (train.resolvedClipNorm)
    settings.push_back(
        builder.getNamedAttr("clip_grad_norm", builder.getF64FloatAttr(*train.resolvedClipNorm)));
  func->setAttr(kTrainAttrName, builder.getDictionaryAttr(settings));
}

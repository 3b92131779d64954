//===- SemaTrain.cpp - Checks of train entries ----------------------------===//
//
// A train entry names a loss method of its module, an optimizer with named
// settings (PyTorch's names and defaults), parameter path patterns and an
// optional gradient clipping norm. Which parameters the patterns match is
// known only once the module is instantiated (MLIRGen checks it there).
//
//===----------------------------------------------------------------------===//
#include "frontend/NameResolver.h"

#include "llvm/ADT/STLExtras.h"

using namespace kiln;
using namespace kiln::sema;
using llvm::StringRef;

namespace {
/// A setting and its default; `lo`/`hi` bound it (hi exclusive when
/// `openHigh`).
struct Setting {
  StringRef name;
  double defaultValue;
  double lo, hi;
  bool openHigh = false;
};

struct OptimizerInfo {
  StringRef name;
  llvm::ArrayRef<Setting> settings;
};

constexpr double kInf = 1e300;
const Setting kSgd[] = {{"momentum", 0.0, 0.0, kInf},
                        {"dampening", 0.0, 0.0, 1.0},
                        {"nesterov", 0.0, 0.0, 1.0},
                        {"weight_decay", 0.0, 0.0, kInf}};
const Setting kAdam[] = {{"beta1", 0.9, 0.0, 1.0, true},
                         {"beta2", 0.999, 0.0, 1.0, true},
                         {"eps", 1e-8, 0.0, kInf},
                         {"weight_decay", 0.0, 0.0, kInf}};
const Setting kAdamW[] = {{"beta1", 0.9, 0.0, 1.0, true},
                          {"beta2", 0.999, 0.0, 1.0, true},
                          {"eps", 1e-8, 0.0, kInf},
                          {"weight_decay", 0.01, 0.0, kInf}};
const OptimizerInfo kOptimizers[] = {{"sgd", kSgd}, {"adam", kAdam}, {"adamw", kAdamW}};

/// A setting's value: a number or a bool literal, possibly negated.
std::optional<double> literalValue(const ExprAST &expr) {
  if (auto *i = llvm::dyn_cast<IntegerExprAST>(&expr))
    return double(i->getValue());
  if (auto *f = llvm::dyn_cast<FloatExprAST>(&expr))
    return f->getValue();
  if (auto *b = llvm::dyn_cast<BoolExprAST>(&expr))
    return b->getValue() ? 1.0 : 0.0;
  if (auto *u = llvm::dyn_cast<UnaryExprAST>(&expr))
    if (auto inner = literalValue(u->getOperand()))
      return -*inner;
  return std::nullopt;
}
} // namespace

void NameResolver::checkTrain(TrainDecl &train) {
  std::string what = "train entry '" + train.getName().str() + "'";
  if (llvm::is_contained(kReservedEntryNames, train.getName()))
    diags.error(train.getLoc(), "'" + train.getName() + "' cannot be a train entry: NAME_" +
                                    train.getName() + " is part of the generated C API");

  for (StringRef suffix : {"_grads", "_apply"}) {
    std::string generated = (train.getName() + suffix).str();
    if (const MemberDecl *clash = module->lookupMember(generated)) {
      diags.error(clash->getLoc(), "'" + generated + "' collides with NAME_" + generated +
                                       ", which " + what + " generates");
      diags.note(train.getLoc(), what + " is here");
    }
  }

  if (!train.loss) {
    diags.error(train.getLoc(), what + " needs 'loss: <method>', the method it minimizes");
  } else {
    const MemberDecl *member = module->lookupMember(train.loss->name);
    auto *fn = llvm::dyn_cast_or_null<FnDecl>(member);
    if (!fn) {
      llvm::SmallVector<StringRef> methods;
      for (const auto &m : module->getMembers())
        if (llvm::isa<FnDecl>(m.get()))
          methods.push_back(m->getName());
      diags.error(train.loss->loc, "'" + train.loss->name + "' is not a method of module '" +
                                       module->getName() + "'" +
                                       suggest(train.loss->name, methods));
    } else if (fn->isRankGeneric()) {
      diags.error(train.loss->loc, "the loss '" + fn->getName() +
                                       "' takes '...' dims: a train entry needs a fixed rank");
    } else {
      train.resolvedLoss = fn;
    }
  }

  if (train.clipGradNorm) {
    std::optional<double> norm = literalValue(*train.clipGradNorm);
    if (!norm || *norm <= 0)
      diags.error(train.clipLoc, "clip_grad_norm must be a number > 0");
    else
      train.resolvedClipNorm = *norm;
  }

  if (!train.optimizer) {
    diags.error(train.getLoc(), what + " needs 'optimizer: sgd(...)', 'adam(...)' or 'adamw(...)'");
    return;
  }
  const OptimizerInfo *optimizer = nullptr;
  for (const OptimizerInfo &info : kOptimizers)
    if (info.name == train.optimizer->name)
      optimizer = &info;
  if (!optimizer) {
    diags.error(train.optimizer->loc, "unknown optimizer '" + train.optimizer->name +
                                          "': expected sgd, adam or adamw" +
                                          suggest(train.optimizer->name, {"sgd", "adam", "adamw"}));
    return;
  }
  train.resolvedSettings.clear();
  for (const Setting &setting : optimizer->settings)
    train.resolvedSettings.push_back({setting.name, setting.defaultValue});
  llvm::StringSet<> given;
  for (const KeywordArg &arg : train.optimizerArgs) {
    auto it = llvm::find_if(train.resolvedSettings,
                            [&](const auto &s) { return s.first == arg.name.name; });
    if (it == train.resolvedSettings.end()) {
      llvm::SmallVector<StringRef> names;
      for (const Setting &setting : optimizer->settings)
        names.push_back(setting.name);
      diags.error(arg.name.loc, "'" + optimizer->name + "' has no setting '" + arg.name.name + "'" +
                                    suggest(arg.name.name, names));
      continue;
    }
    if (!given.insert(arg.name.name).second) {
      diags.error(arg.name.loc, "setting '" + arg.name.name + "' is given twice");
      continue;
    }
    std::optional<double> value = literalValue(*arg.value);
    const Setting &setting = optimizer->settings[it - train.resolvedSettings.begin()];
    if (!value) {
      diags.error(arg.value->getLoc(), "setting '" + arg.name.name + "' must be a number");
      continue;
    }
    bool inRange =
        *value >= setting.lo && (setting.openHigh ? *value < setting.hi : *value <= setting.hi);
    if (!inRange || (setting.name == "eps" && *value <= 0)) {
      std::string range = setting.name == "eps" ? "> 0"
                          : setting.hi >= kInf  ? ">= 0"
                          : setting.openHigh    ? "in [0, 1)"
                                                : "in [0, 1]";
      diags.error(arg.value->getLoc(), "setting '" + arg.name.name + "' must be " + range);
      continue;
    }
    it->second = *value;
  }
  if (optimizer->name == "sgd") {
    auto get = [&](StringRef name) {
      return llvm::find_if(train.resolvedSettings, [&](const auto &s) { return s.first == name; })
          ->second;
    };
    if (get("nesterov") != 0 && (get("momentum") <= 0 || get("dampening") != 0))
      diags.error(train.optimizer->loc,
                  "nesterov momentum needs momentum > 0 and dampening = 0 (as torch.optim.SGD)");
  }
}

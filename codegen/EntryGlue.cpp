//===- EntryGlue.cpp - The C API around compiled entries ------------------===//
//
// Written directly as LLVM IR: each public function is a handful of stores
// and one call into the runtime, which does the checking and the memref
// descriptor building once, in C, for every model.
//
//===----------------------------------------------------------------------===//
#include "codegen/EntryGlue.h"

#include "codegen/EmbeddedWeights.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"

using namespace llvm;

namespace kiln {
namespace {

/// Packs `values` into a stack array of `elementType` and returns its address.
Value *stackArray(IRBuilder<> &b, Type *elementType, ArrayRef<Value *> values, const Twine &name) {
  if (values.empty())
    return ConstantPointerNull::get(b.getPtrTy());
  auto *arrayType = ArrayType::get(elementType, values.size());
  Value *array = b.CreateAlloca(arrayType, nullptr, name);
  for (auto [i, value] : llvm::enumerate(values))
    b.CreateStore(value, b.CreateConstInBoundsGEP2_32(arrayType, array, 0, i));
  return array;
}

/// `void kiln_entry_<name>(void **descriptors)` calling the ciface wrapper
/// with one descriptor pointer per memref argument.
Function *createPackedEntry(Module &module, const EntrySpec &entry) {
  LLVMContext &ctx = module.getContext();
  Function *ciface = module.getFunction("_mlir_ciface_" + entry.name);
  if (!ciface)
    report_fatal_error(Twine("compiled entry '") + entry.name + "' has no C interface");
  // The entry's body, and its C interface that unpacks every descriptor into
  // scalar arguments for it, fold into this function: otherwise a body too
  // large to inline keeps a call passing each parameter's fields (12,000
  // scalars for 2,000 parameter tensors), which LLVM is slow to optimize.
  ciface->addFnAttr(Attribute::AlwaysInline);
  if (Function *body = module.getFunction(entry.name))
    body->addFnAttr(Attribute::AlwaysInline);
  auto *type = FunctionType::get(Type::getVoidTy(ctx), {PointerType::get(ctx, 0)}, false);
  Function *packed =
      Function::Create(type, GlobalValue::InternalLinkage, "kiln_entry_" + entry.name, module);
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", packed));
  SmallVector<Value *> args;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    Value *slot = b.CreateConstInBoundsGEP1_32(b.getPtrTy(), packed->getArg(0), i);
    args.push_back(b.CreateLoad(b.getPtrTy(), slot));
  }
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
  return packed;
}

/// A constant array of `elements` (all of `elementType`) named `name`.
GlobalVariable *constantArray(Module &module, Type *elementType, ArrayRef<Constant *> elements,
                              const Twine &name) {
  auto *type = ArrayType::get(elementType, elements.size());
  return new GlobalVariable(module, type, /*isConstant=*/true, GlobalValue::InternalLinkage,
                            ConstantArray::get(type, elements), name);
}

/// A NUL-terminated string constant named `name`.
GlobalVariable *constantString(Module &module, StringRef text, const Twine &name) {
  Constant *init = ConstantDataArray::getString(module.getContext(), text, /*AddNull=*/true);
  return new GlobalVariable(module, init->getType(), /*isConstant=*/true,
                            GlobalValue::InternalLinkage, init, name);
}

/// The kiln_gpu_program (runtime.h) of a model compiled for a GPU: its PTX
/// images and the kernels its entries launch by number.
Constant *createGpuProgram(Module &module, const GpuProgram &program) {
  LLVMContext &ctx = module.getContext();
  Type *i32 = Type::getInt32Ty(ctx), *ptr = PointerType::get(ctx, 0);
  SmallVector<Constant *> images, kernelImages, kernelNames;
  for (const GpuProgram::Image &image : program.images) {
    // The driver reads a fatbin's header in place: 8-byte aligned.
    GlobalVariable *data = constantString(module, image.fatbin.empty() ? image.ptx : image.fatbin,
                                          "kiln_gpu_image_" + image.name);
    data->setAlignment(Align(8));
    images.push_back(data);
  }
  for (const GpuProgram::Kernel &kernel : program.kernels) {
    kernelImages.push_back(ConstantInt::get(i32, kernel.image));
    kernelNames.push_back(constantString(module, kernel.name, "kiln_gpu_kernel_name"));
  }
  auto *type = StructType::get(ctx, {i32, ptr, i32, ptr, ptr});
  Constant *fields[] = {ConstantInt::get(i32, images.size()),
                        constantArray(module, ptr, images, "kiln_gpu_images"),
                        ConstantInt::get(i32, kernelNames.size()),
                        constantArray(module, i32, kernelImages, "kiln_gpu_kernel_images"),
                        constantArray(module, ptr, kernelNames, "kiln_gpu_kernel_names")};
  return new GlobalVariable(module, type, /*isConstant=*/true, GlobalValue::InternalLinkage,
                            ConstantStruct::get(type, fields), "kiln_gpu_program");
}

/// NAME_cache_*: the key/value cache of a generation pair, each a call of
/// its kiln_rt_cache_* function (runtime.h).
template <typename DefinePublic>
void addCacheGlue(Module &module, const ModelInterface &model, const GenerationSpec &generation,
                  DefinePublic &definePublic) {
  LLVMContext &ctx = module.getContext();
  Type *i32 = Type::getInt32Ty(ctx), *i64 = Type::getInt64Ty(ctx);
  Type *ptr = PointerType::get(ctx, 0), *voidTy = Type::getVoidTy(ctx);
  auto runtime = [&](StringRef name, Type *result, ArrayRef<Type *> params) {
    return module.getOrInsertFunction(name, FunctionType::get(result, params, false));
  };
  // Forwards every argument of the public function to `callee`, after `extra`.
  auto forward = [&](StringRef suffix, Type *result, ArrayRef<Type *> params,
                     FunctionCallee callee, auto makeArgs) {
    Function *f = definePublic(suffix.str(), FunctionType::get(result, params, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    SmallVector<Value *> args = makeArgs(b, f);
    Value *call = b.CreateCall(callee, args);
    if (result->isVoidTy())
      b.CreateRetVoid();
    else
      b.CreateRet(call);
  };
  auto allArgs = [](IRBuilder<> &, Function *f) {
    SmallVector<Value *> args;
    for (Argument &arg : f->args())
      args.push_back(&arg);
    return args;
  };

  FunctionCallee create = runtime("kiln_rt_cache_create", i32, {ptr, i32, i32, i64, i64, ptr});
  forward("cache_create", i32, {ptr, i64, i64, ptr}, create, [&](IRBuilder<> &b, Function *f) {
    return SmallVector<Value *>{f->getArg(0), b.getInt32(generation.prefill),
                                b.getInt32(generation.decode), f->getArg(1), f->getArg(2),
                                f->getArg(3)};
  });
  forward("cache_destroy", voidTy, {ptr}, runtime("kiln_rt_cache_destroy", voidTy, {ptr}),
          allArgs);
  forward("cache_reset", voidTy, {ptr}, runtime("kiln_rt_cache_reset", voidTy, {ptr}), allArgs);
  forward("cache_length", i64, {ptr}, runtime("kiln_rt_cache_length", i64, {ptr}), allArgs);

  // NAME_cache_prefill(model, cache, dims..., inputs..., outputs but the cache's...).
  const EntrySpec &prefill = model.entries[generation.prefill];
  size_t numDims = generation.prefillDims.size();
  size_t numInputs = prefill.inputs.size(), numOutputs = prefill.outputs.size() - 1;
  SmallVector<Type *> params{ptr, ptr};
  params.append(numDims, i64);
  params.append(numInputs + numOutputs, ptr);
  FunctionCallee rtPrefill = runtime("kiln_rt_cache_prefill", i32, {ptr, ptr, ptr, ptr, ptr});
  forward("cache_prefill", i32, params, rtPrefill, [&](IRBuilder<> &b, Function *f) {
    SmallVector<Value *> dims, inputs, outputs;
    unsigned next = 2;
    for (size_t i = 0; i < numDims; ++i)
      dims.push_back(f->getArg(next++));
    for (size_t i = 0; i < numInputs; ++i)
      inputs.push_back(f->getArg(next++));
    for (size_t i = 0; i < numOutputs; ++i)
      outputs.push_back(f->getArg(next++));
    return SmallVector<Value *>{f->getArg(0), f->getArg(1), stackArray(b, i64, dims, "dims"),
                                stackArray(b, ptr, inputs, "inputs"),
                                stackArray(b, ptr, outputs, "outputs")};
  });
  forward("cache_decode_step", i32, {ptr, ptr, ptr, ptr},
          runtime("kiln_rt_cache_decode_step", i32, {ptr, ptr, ptr, ptr}), allArgs);
}

/// NAME_<train>, NAME_<train>_grads and NAME_<train>_apply: a train entry's
/// step, its forward + backward half and its optimizer half, each a call of
/// its kiln_rt_train_* function (runtime.h).
template <typename DefinePublic>
void addTrainGlue(Module &module, const EntrySpec &entry, unsigned index,
                  DefinePublic &definePublic) {
  LLVMContext &ctx = module.getContext();
  Type *i32 = Type::getInt32Ty(ctx), *i64 = Type::getInt64Ty(ctx);
  Type *f32 = Type::getFloatTy(ctx), *ptr = PointerType::get(ctx, 0);
  auto runtime = [&](StringRef name, ArrayRef<Type *> params) {
    return module.getOrInsertFunction(name, FunctionType::get(i32, params, false));
  };
  size_t numDims = entry.symbols.size();
  // (model, [lr], dims..., [inputs...], rest...) -> the runtime's (model,
  // index, dims[], [inputs[]], [lr], rest...).
  auto define = [&](const std::string &suffix, bool takesLr, bool takesInputs, unsigned numRest,
                    FunctionCallee callee) {
    size_t numInputs = takesInputs ? entry.inputs.size() : 0;
    SmallVector<Type *> params{ptr};
    if (takesLr)
      params.push_back(f32);
    params.append(numDims, i64);
    params.append(numInputs + numRest, ptr);
    Function *f = definePublic(suffix, FunctionType::get(i32, params, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    unsigned next = 1;
    Value *lr = takesLr ? f->getArg(next++) : nullptr;
    SmallVector<Value *> dims, inputs;
    for (size_t i = 0; i < numDims; ++i)
      dims.push_back(f->getArg(next++));
    for (size_t i = 0; i < numInputs; ++i)
      inputs.push_back(f->getArg(next++));
    SmallVector<Value *> args{f->getArg(0), b.getInt32(index), stackArray(b, i64, dims, "dims")};
    if (takesInputs)
      args.push_back(stackArray(b, ptr, inputs, "inputs"));
    if (lr)
      args.push_back(lr);
    while (next < f->arg_size())
      args.push_back(f->getArg(next++));
    b.CreateRet(b.CreateCall(callee, args));
  };
  define(entry.name, /*takesLr=*/true, /*takesInputs=*/true, 1,
         runtime("kiln_rt_train_step", {ptr, i32, ptr, ptr, f32, ptr}));
  define(entry.name + "_grads", /*takesLr=*/false, /*takesInputs=*/true, 2,
         runtime("kiln_rt_train_grads", {ptr, i32, ptr, ptr, ptr, ptr}));
  define(entry.name + "_memory", /*takesLr=*/false, /*takesInputs=*/false, 1,
         runtime("kiln_rt_train_memory", {ptr, i32, ptr, ptr}));

  // NAME_<train>_apply(model, lr, grads).
  Function *apply =
      definePublic(entry.name + "_apply", FunctionType::get(i32, {ptr, f32, ptr}, false));
  IRBuilder<> b(BasicBlock::Create(ctx, "entry", apply));
  b.CreateRet(b.CreateCall(runtime("kiln_rt_train_apply", {ptr, i32, f32, ptr}),
                           {apply->getArg(0), b.getInt32(index), apply->getArg(1),
                            apply->getArg(2)}));

  // NAME_<train>_save_state / _load_state(model, path).
  for (auto [suffix, callee] : {std::pair{"_save_state", "kiln_rt_train_save_state"},
                                std::pair{"_load_state", "kiln_rt_train_load_state"}}) {
    Function *f = definePublic(entry.name + suffix, FunctionType::get(i32, {ptr, ptr}, false));
    IRBuilder<> fb(BasicBlock::Create(ctx, "entry", f));
    fb.CreateRet(fb.CreateCall(runtime(callee, {ptr, i32, ptr}),
                               {f->getArg(0), fb.getInt32(index), f->getArg(1)}));
  }
}

} // namespace

std::vector<std::string> addEntryGlue(Module &module, const ModelInterface &model) {
  LLVMContext &ctx = module.getContext();
  Type *i32 = Type::getInt32Ty(ctx);
  Type *i64 = Type::getInt64Ty(ctx);
  Type *ptr = PointerType::get(ctx, 0);
  const std::string &name = model.modelName;
  std::vector<std::string> publicNames;

  // The manifest and the entry table the runtime receives at create time.
  std::string manifestText = model.manifestJson();
  Constant *manifestInit = ConstantDataArray::getString(ctx, manifestText, /*AddNull=*/true);
  auto *manifest = new GlobalVariable(module, manifestInit->getType(), /*isConstant=*/true,
                                      GlobalValue::InternalLinkage, manifestInit, "kiln_manifest");
  SmallVector<Constant *> packedEntries;
  for (const EntrySpec &entry : model.entries)
    packedEntries.push_back(createPackedEntry(module, entry));
  auto *tableType = ArrayType::get(ptr, packedEntries.size());
  auto *table = new GlobalVariable(module, tableType, true, GlobalValue::InternalLinkage,
                                   ConstantArray::get(tableType, packedEntries), "kiln_entries");

  // Runtime functions the wrappers call (defined by the linked-in runtime).
  FunctionCallee rtCreate = module.getOrInsertFunction(
      "kiln_rt_create_embedded",
      FunctionType::get(i32, {ptr, i64, ptr, i32, ptr, ptr, i64, ptr, ptr, ptr}, false));
  FunctionCallee rtInvoke = module.getOrInsertFunction(
      "kiln_rt_invoke", FunctionType::get(i32, {ptr, i32, ptr, ptr, ptr}, false));
  FunctionCallee rtLastError =
      module.getOrInsertFunction("kiln_rt_last_error", FunctionType::get(ptr, {ptr}, false));
  FunctionCallee rtDestroy = module.getOrInsertFunction(
      "kiln_rt_destroy", FunctionType::get(Type::getVoidTy(ctx), {ptr}, false));

  auto definePublic = [&](const std::string &suffix, FunctionType *type) {
    std::string fullName = name + "_" + suffix;
    Function *f = Function::Create(type, GlobalValue::ExternalLinkage, fullName, module);
    f->addFnAttr(Attribute::NoUnwind);
    publicNames.push_back(fullName);
    return f;
  };

  {
    // The weights compiled in (EmbeddedWeights.h) are another member of the
    // archive, in large data: their address is loaded from the GOT (PIC), and
    // the global is marked large for the day the code is not PIC.
    Constant *embedded = ConstantPointerNull::get(PointerType::get(ctx, 0));
    uint64_t embeddedSize = model.embeddedWeightsSize.value_or(0);
    if (model.embeddedWeightsSize) {
      auto *weights = new GlobalVariable(module, ArrayType::get(Type::getInt8Ty(ctx), embeddedSize),
                                         /*isConstant=*/true, GlobalValue::ExternalLinkage, nullptr,
                                         embeddedWeightsSymbol(name));
      weights->setCodeModel(CodeModel::Large);
      embedded = weights;
    }
    Constant *gpuProgram = model.gpu ? createGpuProgram(module, *model.gpu)
                                     : ConstantPointerNull::get(PointerType::get(ctx, 0));
    Function *f = definePublic("create", FunctionType::get(i32, {ptr, ptr, ptr}, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    b.CreateRet(
        b.CreateCall(rtCreate, {manifest, b.getInt64(manifestText.size()), table,
                                b.getInt32(packedEntries.size()), f->getArg(0), embedded,
                                b.getInt64(embeddedSize), gpuProgram, f->getArg(1), f->getArg(2)}));
  }
  {
    Function *f = definePublic("destroy", FunctionType::get(Type::getVoidTy(ctx), {ptr}, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    b.CreateCall(rtDestroy, {f->getArg(0)});
    b.CreateRetVoid();
  }
  {
    Function *f = definePublic("last_error", FunctionType::get(ptr, {ptr}, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    b.CreateRet(b.CreateCall(rtLastError, {f->getArg(0)}));
  }
  {
    FunctionCallee rtSave = module.getOrInsertFunction(
        "kiln_rt_save_weights", FunctionType::get(i32, {ptr, ptr}, false));
    Function *f = definePublic("save_weights", FunctionType::get(i32, {ptr, ptr}, false));
    IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
    b.CreateRet(b.CreateCall(rtSave, {f->getArg(0), f->getArg(1)}));
  }

  for (auto [index, entry] : llvm::enumerate(model.entries)) {
    if (entry.train) {
      addTrainGlue(module, entry, index, definePublic);
      continue;
    }
    // NAME_<entry>(model, symbols..., inputs..., outputs...), and on a GPU
    // NAME_<entry>_on_device with the same arguments in device memory.
    auto defineInvoke = [&](const std::string &publicName, FunctionCallee invoke) {
      SmallVector<Type *> params{ptr};
      params.append(entry.symbols.size(), i64);
      params.append(entry.inputs.size() + entry.outputs.size(), ptr);
      Function *f = definePublic(publicName, FunctionType::get(i32, params, false));
      IRBuilder<> b(BasicBlock::Create(ctx, "entry", f));
      auto args = f->args();
      auto it = args.begin();
      Value *modelArg = &*it++;
      SmallVector<Value *> dims, inputs, outputs;
      for (size_t i = 0; i < entry.symbols.size(); ++i)
        dims.push_back(&*it++);
      for (size_t i = 0; i < entry.inputs.size(); ++i)
        inputs.push_back(&*it++);
      for (size_t i = 0; i < entry.outputs.size(); ++i)
        outputs.push_back(&*it++);
      b.CreateRet(b.CreateCall(
          invoke, {modelArg, b.getInt32(index), stackArray(b, i64, dims, "dims"),
                   stackArray(b, ptr, inputs, "inputs"), stackArray(b, ptr, outputs, "outputs")}));
    };
    defineInvoke(entry.name, rtInvoke);
    if (model.gpu)
      defineInvoke(
          entry.name + "_on_device",
          module.getOrInsertFunction("kiln_rt_invoke_on_device", rtInvoke.getFunctionType()));
  }

  if (model.generation)
    addCacheGlue(module, model, *model.generation, definePublic);
  return publicNames;
}

} // namespace kiln

#ifndef KILN_PASSES_TD
#define KILN_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnParamsToArguments : Pass<"kiln-params-to-arguments", "::mlir::ModuleOp"> {
  let summary = "Turns kiln.param reads into leading arguments of every entry";
  let description = [{
    Every entry (`func.func` with `kiln.entry`) gains one leading tensor argument
    per `kiln.parameter`, in declaration order, tagged `kiln.param = "<name>"`.
    `kiln.param` reads become those arguments and the declarations are erased.
    This is the calling convention the runtime uses: parameters are ordinary
    buffers it binds from the weights file. Every entry argument is marked
    `bufferization.writable = false`: compiled code never writes the weights
    or the caller's inputs, even where an op works in place.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def KilnInline : Pass<"kiln-inline", "::mlir::ModuleOp"> {
  let summary = "Inlines the frontend's outlined method functions by a size rule";
  let description = [{
    The frontend emits each module method once per (module, constructor
    arguments, argument types) as a private `func.func`, called per layer
    with that layer's parameters. This pass inlines calls of private
    functions, callees before callers (so a callee's size is counted with its
    own callees already inlined):
     - `mode=always`: every call (one function per entry, as if written out);
     - `mode=never`: none;
     - `mode=auto`: a function called from one place, or whose body has at
       most `max-ops` operations (a Linear, a LayerNorm, a head split) and
       whose copies add at most `max-growth` operations in all, is inlined;
       larger shared bodies (a transformer block called per layer) stay
       functions, and so do small ones called from hundreds of places (a
       list of 1,000 Linear layers), whose copies would make one function
       that bufferization and LLVM take quadratic time over. Small bodies
       inlined keep fusion across them (`x @ w^T + b` then `gelu` in the
       caller still fuses).
    Functions left without calls are erased.
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"auto\"",
           "always, never or auto">,
    Option<"maxOps", "max-ops", "int64_t", /*default=*/"16",
           "auto inlines bodies of at most this many operations">,
    Option<"maxGrowth", "max-growth", "int64_t", /*default=*/"1024",
           "... whose copies add at most this many operations in all">,
  ];
}

def KilnAutodiff : Pass<"kiln-autodiff", "::mlir::ModuleOp"> {
  let summary = "Differentiates each train entry: its loss becomes the loss and the gradients";
  let description = [{
    A train entry (`func.func` with `kiln.train = {params = [...], ...}`)
    computes one f32 loss. This pass appends its reverse-mode derivative:
    the entry then returns the loss followed by the gradient of every
    parameter named in `params`, in that order, each result tagged
    `kiln.grad = "<state_dict path>"`. Cotangents flow backwards through each
    op's `DifferentiableOpInterface` rule; only values that depend on a
    trained parameter get one, so a frozen tower costs nothing. A call of a
    method function gets a backward function, `<callee>.vjp` (suffixed with
    the mask of arguments it differentiates when that is not all of them),
    taking the callee's arguments and its results' cotangents and returning
    its arguments' cotangents; it recomputes the callee's forward ops, so
    nothing is saved across the call (activation checkpointing per method
    function). A function that calls functions, called once by the entry,
    is inlined into it first, so that only the leaves' forward is computed
    again (not the whole model's, once per level of calls). A trained
    parameter the loss does not read gets a zero gradient and a warning.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"];
}

def KilnFuseSoftmaxCrossEntropy
    : Pass<"kiln-fuse-softmax-cross-entropy", "::mlir::func::FuncOp"> {
  let summary = "Fuses softmax and cross-entropy into kiln.softmax_cross_entropy";
  let description = [{
    Rewrites `kiln.cross_entropy(logits, targets)` and the spelled-out chain
    `-mean(sum(one_hot(targets) * log_softmax(logits, axis = 1), axes = [1]))`
    into `kiln.softmax_cross_entropy`, whose lowering reads each row of
    logits once (online max and sum-exp) and stores no probabilities. The
    chain is left alone when the log-softmax is over another axis, when the
    one-hot does not cover the classes, or when an intermediate has another
    use (it would have to be computed anyway). Three more forms:
     - the loss together with `softmax(logits, axis = 1) - one_hot(targets, C)`
       -> `kiln.softmax_cross_entropy_grad` (loss and gradient, one read);
     - distillation, `kl_div(log_softmax(s / T), softmax(t / T))` over [N, C]
       -> `kiln.softmax_kl_div {temperature = T}`, and with a cross-entropy of
       the same student against hard labels -> `kiln.distillation_loss`
       (both terms, one read of the student);
     - contrastive, `cross_entropy(S, t)` and `cross_entropy(transpose(S), t)`
       -> `kiln.contrastive_cross_entropy` (no transposed copy of S).
  }];
}

def KilnFuseAttention : Pass<"kiln-fuse-attention", "::mlir::func::FuncOp"> {
  let summary = "Fuses spelled-out scaled dot-product attention into kiln.attention";
  let description = [{
    Matches `matmul(softmax(matmul(q, transpose(k, [0, 1, 3, 2])) * c, axis = 3), v)`
    on rank-4 `q, k, v` (the scale `c` a scalar constant, multiplied on
    either side or divided by, or absent) and rewrites it into
    `kiln.attention(q, k, v) scale = c`. Left alone when the scores or
    probabilities have another use, when the softmax is over another axis,
    or when batch or heads would broadcast.
  }];
}

def KilnFuseLinear : Pass<"kiln-fuse-linear", "::mlir::func::FuncOp"> {
  let summary = "Fuses a linear layer and its epilogue into kiln.fused_linear";
  let description = [{
    Matches `x @ transpose(w)` (w 2-D, permutation [1, 0]) followed, each
    step optional but at least one present, by `+ bias` (bias `[O]`), an
    activation (relu, sigmoid, gelu exact or tanh) and `+ residual` (of the
    result's shape), and rewrites it into
    `kiln.fused_linear(x, w, bias?, residual?) {activation}`. The chain ends
    at the first value with another use, which stays available.
  }];
  let options = [
    Option<"minFlops", "min-flops", "int64_t", /*default=*/"0",
           "Fuse only products of at least this many flops (symbolic dims count "
           "as 1): the pipeline fuses exactly the layers kiln-select-kernels "
           "sends to a matmul kernel">,
  ];
}

def KilnConvertToLinalg : Pass<"kiln-convert-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Lowers kiln ops to linalg, tensor, arith and math on tensors";
  let options = [
    Option<"onlineSoftmax", "online-softmax", "bool", /*default=*/"false",
           "Lower kiln.softmax_cross_entropy with one read of each row (online "
           "max and sum-exp). Off by default: that loop is not vectorized yet "
           "and measured ~17% slower than the two vectorized passes">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

def KilnElementwiseInPlace : Pass<"kiln-elementwise-in-place", "::mlir::func::FuncOp"> {
  let summary = "Elementwise linalg ops write over an input nothing reads again";
  let description = [{
    A parallel `linalg.generic` whose destination is a `tensor.empty` takes as
    its destination an input of the same type and indexing map that it alone
    reads, made by a destination-style op of the same function (not an
    argument, constant or view). The body reads that input from the output's
    block argument, and one-shot bufferization then writes in place: a
    backward pass's chain of scalings and masks reuses one buffer.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnTileAndVectorize : Pass<"kiln-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tiles linalg ops to host-vector-sized tiles and vectorizes them";
  let description = [{
    Each linalg op on tensors is tiled with scf.for so that its innermost
    parallel dim is processed `vector-width` elements at a time (masked at the
    boundary; the width of the target's vectors, read from the module's
    `kiln.target` attribute), then vectorized with linalg's vectorizer. Contractions are then
    folded into `vector.contract` (lowered later to outer-product FMAs). Ops
    the vectorizer cannot handle are left as they are (scalar loops later).
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "f32 elements per vector along the innermost parallel dim; 0 (the "
           "default): the module's kiln.target vector_width (kilnc sets it from "
           "--mcpu/--mattr: 16 with AVX-512, 8 with AVX2, 4 with SSE), else 16">,
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"4",
           "Rows of a matmul computed together (register blocking)">,
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::affine::AffineDialect", "::mlir::tensor::TensorDialect"];
}

def KilnExpandShapeToReinterpretCast
    : Pass<"kiln-expand-shape-to-reinterpret-cast", "::mlir::func::FuncOp"> {
  let summary = "Rewrites memref.expand_shape with several symbolic dims in a group";
  let description = [{
    `expand-strided-metadata` (MLIR 22) crashes on an expand_shape that
    splits one dim into two or more dynamic ones, e.g. `[B * S, D]` into
    `[B, S, D]`. Such an op becomes a `memref.reinterpret_cast` of the
    source's base buffer with the op's `output_shape` and strides derived
    from the source's; other expand_shapes are left to that pass.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def KilnApproximateMath : Pass<"kiln-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "Replaces transcendental math ops with polynomial approximations";
  let description = [{
    LLVM has no vector libm here: a `math.exp` on `vector<16xf32>` would become
    sixteen `expf` calls. MLIR's polynomial forms (within a few ulp in f32)
    stay in vector registers. Applies to exp, expm1, log, log1p, log2, tanh, erf.
  }];
  let dependentDialects = ["::mlir::math::MathDialect", "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect", "::mlir::LLVM::LLVMDialect"];
}

def KilnCallResultsToOutParams
    : Pass<"kiln-call-results-to-out-params", "::mlir::ModuleOp"> {
  let summary = "Results of private functions become buffers their callers provide";
  let description = [{
    After bufferization, every private function with memref results (a
    module method's outlined body) takes one more trailing argument per
    result and returns nothing; each call site allocates those buffers, with
    dynamic sizes read from the call's operands through the callee's
    `kiln.dims` (a result dim `B` is the size of an argument dim named `B`),
    so the caller's arena planner sees them. A returned buffer the callee
    allocated becomes the out-param itself; anything else is copied into it.
    Upstream `buffer-results-to-out-params` does the entries, whose buffers
    the runtime provides (it cannot size dynamic results of calls).
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def KilnPlanArena : Pass<"kiln-plan-arena", "::mlir::ModuleOp"> {
  let summary = "Places every buffer an entry allocates into one arena argument";
  let description = [{
    Runs on bufferized entries. Each `memref.alloc` becomes a `memref.view` into
    a new leading `memref<?xi8>` argument. Offsets come from a liveness-based
    first-fit packing, done separately for each product of symbolic dims (a
    buffer of `B x 128` f32 and one of `B x 64` share the `B` group). The arena
    size, as a sum of `coeff * product(symbols)` terms, is recorded on the entry
    as `kiln.arena` for the runtime and the generated header.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def KilnSelectKernels : Pass<"kiln-select-kernels", "::mlir::func::FuncOp"> {
  let summary = "Routes the ops a native or oneDNN kernel serves to kiln.kernel";
  let description = [{
    Runs before kiln-convert-to-linalg. Each op below becomes a `kiln.kernel`
    call when its types fit the kernel (f32 data, i64 targets); what stays is
    lowered through linalg.
     - `kiln.softmax_cross_entropy` (and `_grad`), `kiln.softmax_kl_div`,
       `kiln.distillation_loss`, `kiln.contrastive_cross_entropy` -> one-read
       native kernels (`kiln_rt_softmax_ce*_f32`, `kiln_rt_softmax_kl_div_f32`,
       `kiln_rt_distillation_f32`, `kiln_rt_contrastive_ce_f32`);
     - `kiln.attention` -> the flash-attention kernel, unless the cost rule
       (`preferFlashAttention`) says the unfused chain is cheaper;
     - `kiln.attention_grad` -> the flash-style backward kernel
       (`kiln_rt_attention_grad*_f32`); one it cannot take (a mask and a
       bias together, not f32) is decomposed into kiln ops here, so that
       their matmuls can go to oneDNN;
     - `kiln.scatter_add` of f32 rows (rank <= 2, i64 indices) ->
       `kiln_rt_scatter_add_rows_f32`, whatever the options: linalg's form
       compares every row with every index;
     - `kiln.matmul` (rank 2-4, a transposed operand folded into its
       strides) and `kiln.fused_linear` (bias, activation and residual as
       the kernel's epilogue) -> a matmul kernel: with `backend=onednn|auto`
       oneDNN's, whose primitive the runtime creates once per shape and
       caches; with `backend=native` Kiln's own (packed strips of b and a
       register-blocked micro-kernel, kernel_native_matmul.c). `auto` and
       `native` keep matmuls too small to amortize a kernel call in a tile
       loop generated in place. With `precision=bf16`, every matmul kernel
       is Kiln's bf16 one (`kiln_rt_native_bf16_matmul*_f32`: operands
       rounded to bf16 as it packs them, sums in f32), whatever the backend;
       products kept in place stay f32. f32 `kiln.conv2d` goes to a oneDNN
       convolution under onednn and auto; `kiln.softmax` and
       `kiln.layer_norm` under onednn only.
  }];
  let options = [
    Option<"backend", "backend", "::kiln::Backend", /*default=*/"::kiln::Backend::Auto",
           "Where matmuls go: native (Kiln's kernel), onednn, or auto",
           [{::llvm::cl::values(KILN_BACKEND_VALUES)}]>,
    Option<"precision", "precision", "::kiln::Precision", /*default=*/"::kiln::Precision::F32",
           "What matmul kernels multiply in: f32, or bf16 with f32 sums (Kiln's kernel)",
           [{::llvm::cl::values(KILN_PRECISION_VALUES)}]>,
    Option<"fusedKernels", "fused-kernels", "bool", /*default=*/"true",
           "Send attention and softmax-cross-entropy to their fused native kernels">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def KilnLowerKernels : Pass<"kiln-lower-kernels", "::mlir::ModuleOp"> {
  let summary = "Turns bufferized kiln.kernel ops into calls of the runtime's kernels";
  let description = [{
    Each `kiln.kernel` on memrefs becomes `func.call @callee(...)`: every
    memref cast to an unranked memref (passed as its rank and a pointer to
    its descriptor), then the scalars as `i64` / `f64`. The callee is
    declared private; the runtime bitcode linked into the library defines it.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// GPU (kilnc --target=cuda)
//===----------------------------------------------------------------------===//

def KilnGpuPrepare : Pass<"kiln-gpu-prepare", "::mlir::func::FuncOp"> {
  let summary = "Puts every memory access of a bufferized function in a parallel loop";
  let description = [{
    Runs on bufferized host functions before `convert-linalg-to-parallel-loops`,
    so that afterwards every load and store sits under an `scf.parallel` that
    `gpu-map-parallel-loops` maps to blocks and threads, and none is left for
    the host (whose pointers are the device's):
     - `memref.copy` becomes `linalg.copy`;
     - a linalg op without a parallel loop (a full reduction) is wrapped in a
       one-iteration `scf.parallel`: one GPU thread computes it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnGpuTileLoops : Pass<"kiln-gpu-tile-loops", "::mlir::func::FuncOp"> {
  let summary = "Tiles each parallel loop nest into GPU blocks of up to 256 threads";
  let description = [{
    Runs after `convert-linalg-to-parallel-loops`, before
    `gpu-map-parallel-loops` (innermost-first). Each outermost `scf.parallel`
    is tiled with fixed-size tiles and bounds checks inside (sizes are
    symbolic): the innermost dim by 32 (a warp, so that neighbouring threads
    touch neighbouring elements; 256 when it is the only dim), the next by
    what is left of 256 threads, other dims by 1; a dim with a shorter
    constant trip count gets only that many.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect"];
}

def KilnGpuMergeKernels : Pass<"kiln-gpu-merge-kernels", "::mlir::ModuleOp"> {
  let summary = "Moves every outlined kernel into one gpu.module";
  let description = [{
    Runs after `gpu-kernel-outlining`, which makes a module per kernel: the
    runtime would load (and the driver JIT-compile) each separately at
    create time. The kernels move into one `gpu.module @kiln_kernels`, each
    named after the module it came from, spelled as PTX identifiers require
    (a method function's `Block.forward_kernel` becomes
    `Block_forward_kernel`); launches follow.
  }];
}

def KilnGpuCheckHost : Pass<"kiln-gpu-check-host", "::mlir::ModuleOp"> {
  let summary = "Refuses host code that would read or write device memory";
  let description = [{
    Runs after `gpu-kernel-outlining`. On the GPU target every buffer an entry
    sees (weights, arena, inputs, outputs) is device memory, so a host
    function may compute sizes, views and launches but may not load, store or
    copy: each such op left outside a kernel is reported as an error naming
    the op, instead of becoming a crash at run time.
  }];
}

def KilnGpuLaunchToRuntime : Pass<"kiln-gpu-launch-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Turns gpu.launch_func into calls of the runtime's launcher";
  let description = [{
    Runs after `gpu-module-to-binary`, on host functions still on memrefs.
    The runtime loads each `gpu.binary` when the model is created and looks
    up its kernels once; so kernels are numbered, in the order their launches
    appear, and the list is recorded on the module as `kiln.gpu_kernels`
    (`[[@binary, "kernel"], ...]`). Each launch becomes
    `func.call @kiln_rt_gpu_launch(kernel, grid x/y/z, block x/y/z, args, n)`:
    `args` is a stack `memref<n x i64>` holding the kernel's parameters as
    `convert-gpu-to-nvvm` expands them (a memref as allocated pointer, aligned
    pointer, offset, sizes, strides; a scalar in its slot's low bytes).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_TD

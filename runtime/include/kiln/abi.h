/*
 * What the compiler and the runtime agree on, written once: the arena's
 * alignment, the element types, the largest rank the library kernels take,
 * the bits of the kernels' integer arguments. Included by the runtime (C) and by the passes
 * and code generator (C++); the kernels themselves are listed in
 * kiln/kernels.def.
 */
#ifndef KILN_ABI_H
#define KILN_ABI_H

/* Every buffer the arena planner places, and the arena itself, starts on a
 * cache line. */
#define KILN_ARENA_ALIGN 64

/* The element types of parameters and entry arguments, in kiln_dtype's order
 * (runtime/src/dtype.h): X(enumerator, manifest spelling, safetensors
 * spelling, bytes, the C type the generated header declares; f16 and bf16
 * travel as their bit patterns). */
#define KILN_DTYPES(X)                                                                             \
  X(F32, "f32", "F32", 4, "float")                                                                 \
  X(F64, "f64", "F64", 8, "double")                                                                \
  X(F16, "f16", "F16", 2, "uint16_t")                                                              \
  X(BF16, "bf16", "BF16", 2, "uint16_t")                                                           \
  X(I64, "i64", "I64", 8, "int64_t")                                                               \
  X(I32, "i32", "I32", 4, "int32_t")                                                               \
  X(I8, "i8", "I8", 1, "int8_t")                                                                   \
  X(U8, "u8", "U8", 1, "uint8_t")                                                                  \
  X(BOOL, "bool", "BOOL", 1, "uint8_t")

/* The largest rank of an operand of the oneDNN and normalization kernels. */
#define KILN_KERNEL_MAX_RANK 6

/* The flags argument of the kiln_rt_dnnl_matmul* kernels: bit 0, a arrives
 * transposed ([..., K, M]); bit 1, b arrives transposed ([..., N, K], PyTorch's
 * Linear weight); bits 4-7, the activation applied after the bias. */
enum {
  KILN_MATMUL_TRANSPOSE_A = 1 << 0,
  KILN_MATMUL_TRANSPOSE_B = 1 << 1,
  KILN_MATMUL_ACTIVATION_SHIFT = 4,
  KILN_MATMUL_ACTIVATION_MASK = 0xf,
};
enum {
  KILN_ACTIVATION_NONE = 0,
  KILN_ACTIVATION_RELU = 1,
  KILN_ACTIVATION_GELU_ERF = 2,
  KILN_ACTIVATION_GELU_TANH = 3,
  KILN_ACTIVATION_SIGMOID = 4,
  KILN_ACTIVATION_SILU = 5,       /* x sigmoid(x) (LLaMA's MLP) */
  KILN_ACTIVATION_QUICK_GELU = 6, /* x sigmoid(1.702 x) (OpenAI CLIP's MLP) */
};

/* The 1.702 of quick_gelu, as the model writes it (an f32 constant). */
#define KILN_QUICK_GELU_SCALE 1.702f

/* Bits of the attention kernels' `layout` argument, by operand: set, the
 * operand is stored as [B, S, H, D] rather than [B, H, S, D], with its sizes
 * and strides in that order (heads split off a [B, S, H * D] projection, or
 * merged back into one, without a transposed copy). */
enum {
  KILN_ATTENTION_LAYOUT_QUERY = 0,
  KILN_ATTENTION_LAYOUT_KEY = 1,
  KILN_ATTENTION_LAYOUT_VALUE = 2,
  KILN_ATTENTION_LAYOUT_OUT = 3,
  KILN_ATTENTION_LAYOUT_DOUT = 4,
  KILN_ATTENTION_LAYOUT_DQUERY = 5,
  KILN_ATTENTION_LAYOUT_DKEY = 6,
  KILN_ATTENTION_LAYOUT_DVALUE = 7,
};

#endif /* KILN_ABI_H */

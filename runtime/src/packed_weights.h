/* Weights packed once for Kiln's own matmul kernels.
 *
 * The bf16 kernel converts each strip of b to bf16 pairs, in the layout its
 * tiles read, before multiplying by it. When b is a model's weight that is the
 * same work on the same bytes at every call, and at a few rows (one image's
 * 50 tokens) the larger part of the call; read packed, the weight is also
 * half the bytes. A model whose weights never change (one without train
 * entries) registers them here at create; a kernel whose b lies inside them
 * has it packed whole (by create, prepare.h, or on its first call) and reads
 * that copy from then on. The packs belong to the model and go with it at
 * destroy. (The f32 kernel packs per call: a copy packed once was no
 * faster to read.)
 *
 * The registry is process-wide because the kernels see only data pointers.
 * Lookups take a read lock, so concurrent calls on one handle share the packs;
 * two first calls racing to pack the same b both pack and the later copy is
 * dropped. Whatever fails (no memory for a pack) leaves the kernel to pack per
 * call, as it does for any b that is not a weight. */
#ifndef KILN_PACKED_WEIGHTS_H
#define KILN_PACKED_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a pack holds: which kernel's layout (its own tag and tile width) of
 * which matrix (b's element 0, logical dims and element strides). */
typedef struct kiln_packed_key {
  int32_t layout;
  int64_t nr;
  const float *b;
  int64_t k, n, b_k, b_n;
} kiln_packed_key;

/* Writes the pack of ctx's b into dst (zeroed, as many bytes as asked for). */
typedef void (*kiln_pack_fn)(const void *ctx, void *dst);

/* Registers [begin, begin + bytes) as weights of `owner` that do not change
 * until kiln_packed_weights_release(owner); false when out of memory (the
 * range is then not packed). */
bool kiln_packed_weights_add(const void *owner, const void *begin, size_t bytes);

/* Drops owner's ranges and frees its packs. No call may be using them. */
void kiln_packed_weights_release(const void *owner);

/* The pack of key.b, made by pack(ctx) into `bytes` on the first request,
 * when every element of b lies inside one registered range; NULL otherwise. */
const void *kiln_packed_weights_get(const kiln_packed_key *key, size_t bytes, kiln_pack_fn pack,
                                    const void *ctx);

/* The packs owner holds (a test hook). */
int64_t kiln_packed_weights_count(const void *owner);

#ifdef __cplusplus
}
#endif

#endif /* KILN_PACKED_WEIGHTS_H */

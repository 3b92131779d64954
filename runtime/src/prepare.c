/* Prepares a model's kernel calls at create time (the manifest's "prepare"
 * list), so that the first call of an entry costs what the next ones do.
 * Each listed call is replayed through the kernel itself in prepare-only
 * mode, with dense descriptors and no data but for a weight operand, bound
 * to its parameter's data: the keys are built by the same code as at call
 * time, so the call finds what was made.
 *
 * oneDNN kernels make their primitive (~0.4 ms each). Each is then run once
 * on zeros: a primitive's first run also pays for its scratch memory and
 * code pages (CLIP ViT-B/32's 50 matmuls took 97 ms the first time and 59 ms
 * after), which the model's first call would otherwise. Kiln's packing
 * matmul kernels pack their weight (packed_weights.h). */
#include "prepare.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "dnnl_cache.h"
#include "kernels.h"
#include "large_alloc.h"
#include "memref.h"
#include "parallel.h"

#define MAX_OPERANDS 5
#define MAX_SCALARS 2

/* Descriptor storage for one operand of rank <= KILN_KERNEL_MAX_RANK. */
typedef struct operand_storage {
  int64_t words[(sizeof(kiln_memref) / sizeof(int64_t)) + 2 * KILN_KERNEL_MAX_RANK];
} operand_storage;

/* The preparable and packing kernels of kiln/kernels.def. */
typedef struct preparable {
  const char *name;
  void (*fn)(void); /* called through the type its operands and scalars give */
  int32_t operands;
  const char *scalars;
  bool packs; /* a packing kernel: nothing to run once on zeros */
} preparable;

#define KILN_KERNEL(name, inputs, outputs, scalars)
#define KILN_PREPARABLE_KERNEL(name, inputs, outputs, scalars)                                     \
  {"kiln_rt_" #name, (void (*)(void))kiln_rt_##name, (inputs) + (outputs), scalars, false},
#define KILN_PACKING_KERNEL(name, inputs, outputs, scalars)                                        \
  {"kiln_rt_" #name, (void (*)(void))kiln_rt_##name, (inputs) + (outputs), scalars, true},
static const preparable kPreparable[] = {
#include "kiln/kernels.def"
};

static _Thread_local bool prepare_only;

void kiln_set_prepare_only(bool on) { prepare_only = on; }
bool kiln_prepare_only(void) { return prepare_only; }

/* Calls k with the operands (rank, descriptor) and scalars (int64_t for 'i',
 * double for 'f'): every signature of a preparable kernel, each listed here
 * (a new one added to kernels.def is left to its first call until it is). */
static void call(const preparable *k, const int64_t *r, kiln_memref **d, const double *s) {
#define M(i) r[i], d[i]
#define OPS1 int64_t, kiln_memref *
#define OPS2 OPS1, OPS1
#define OPS3 OPS2, OPS1
#define OPS4 OPS3, OPS1
#define OPS5 OPS4, OPS1
  int64_t i0 = (int64_t)s[0], i1 = (int64_t)s[1];
  if (strcmp(k->scalars, "i") == 0 && k->operands == 2)
    ((void (*)(OPS2, int64_t))k->fn)(M(0), M(1), i0);
  else if (strcmp(k->scalars, "i") == 0 && k->operands == 3)
    ((void (*)(OPS3, int64_t))k->fn)(M(0), M(1), M(2), i0);
  else if (strcmp(k->scalars, "i") == 0 && k->operands == 4)
    ((void (*)(OPS4, int64_t))k->fn)(M(0), M(1), M(2), M(3), i0);
  else if (strcmp(k->scalars, "i") == 0 && k->operands == 5)
    ((void (*)(OPS5, int64_t))k->fn)(M(0), M(1), M(2), M(3), M(4), i0);
  else if (strcmp(k->scalars, "ii") == 0 && k->operands == 4)
    ((void (*)(OPS4, int64_t, int64_t))k->fn)(M(0), M(1), M(2), M(3), i0, i1);
  else if (strcmp(k->scalars, "f") == 0 && k->operands == 4)
    ((void (*)(OPS4, double))k->fn)(M(0), M(1), M(2), M(3), s[0]);
#undef M
#undef OPS1
#undef OPS2
#undef OPS3
#undef OPS4
#undef OPS5
}

static const preparable *find(const char *name) {
  for (size_t i = 0; i < sizeof kPreparable / sizeof kPreparable[0]; ++i)
    if (strcmp(kPreparable[i].name, name) == 0)
      return &kPreparable[i];
  return NULL;
}

/* Calls k's kernel on the operands d (in prepare-only mode: prepares it); a
 * kernel this runtime cannot prepare (or a mismatched entry) is left to its
 * first call. */
static void replay(const kiln_prepared_kernel *k, kiln_memref **d) {
  const preparable *kernel = find(k->kernel);
  if (!kernel || kernel->operands != k->num_operands ||
      (size_t)k->num_scalars != strlen(kernel->scalars) || k->num_scalars > MAX_SCALARS)
    return;
  int64_t r[MAX_OPERANDS];
  for (int32_t i = 0; i < k->num_operands; ++i)
    r[i] = k->operands[i].rank;
  double s[MAX_SCALARS] = {0, 0};
  for (int32_t i = 0; i < k->num_scalars; ++i)
    s[i] = k->scalars[i];
  call(kernel, r, d, s);
}

/* Dense descriptors for k's operands, over data[j] (NULL: no data); false
 * when k does not fit this runtime's bounds. */
static bool describe(const kiln_prepared_kernel *k, operand_storage *storage, kiln_memref **d,
                     void *const *data) {
  if (k->num_operands > MAX_OPERANDS)
    return false;
  bool fits = true;
  for (int32_t j = 0; j < k->num_operands; ++j) {
    d[j] = (kiln_memref *)(void *)&storage[j];
    fits = fits && k->operands[j].rank <= KILN_KERNEL_MAX_RANK &&
           kiln_memref_init(d[j], data ? data[j] : NULL, k->operands[j].rank, k->operands[j].dims);
  }
  return fits;
}

/* The bytes of operand j of k (f32, dense), or -1 when it overflows. */
static int64_t operand_bytes(const kiln_prepared_kernel *k, int32_t j) {
  int64_t bytes = (int64_t)sizeof(float);
  for (int32_t d = 0; d < k->operands[j].rank; ++d)
    if (k->operands[j].dims[d] < 0 || !kiln_mul_i64(bytes, k->operands[j].dims[d], &bytes))
      return -1;
  return bytes;
}

/* Whether listed call i is run once on zeros: a oneDNN kernel's, not a
 * packing kernel's (its work at create is done, and its operands may be as
 * large as a model's embedding). */
static bool runs_once(const kiln_manifest *m, int32_t i) {
  const preparable *kernel = find(m->prepared[i].kernel);
  return kernel && !kernel->packs;
}

/* Runs every listed call once on zeroed operands, each operand slot one
 * buffer as large as the largest operand in that position. Best effort: left
 * out when the buffers cannot be had. */
static void run_once_on_zeros(const kiln_manifest *m) {
  size_t bytes[MAX_OPERANDS] = {0};
  for (int32_t i = 0; i < m->num_prepared; ++i) {
    if (!runs_once(m, i))
      continue;
    for (int32_t j = 0; j < m->prepared[i].num_operands && j < MAX_OPERANDS; ++j) {
      int64_t b = operand_bytes(&m->prepared[i], j);
      if (b < 0)
        return;
      bytes[j] = (size_t)b > bytes[j] ? (size_t)b : bytes[j];
    }
  }
  void *data[MAX_OPERANDS] = {NULL};
  bool ok = true;
  for (int32_t j = 0; j < MAX_OPERANDS && ok; ++j)
    ok = bytes[j] == 0 || (data[j] = kiln_large_alloc(bytes[j])) != NULL;
  for (int32_t i = 0; ok && i < m->num_prepared; ++i) {
    operand_storage storage[MAX_OPERANDS];
    kiln_memref *d[MAX_OPERANDS];
    if (runs_once(m, i) && describe(&m->prepared[i], storage, d, data))
      replay(&m->prepared[i], d);
  }
  for (int32_t j = 0; j < MAX_OPERANDS; ++j)
    kiln_large_free(data[j], bytes[j]);
}

void kiln_prepare_kernels(const kiln_manifest *m, const void *const *weights, int32_t threads) {
  int32_t previous_threads = kiln_set_thread_count(threads);
  kiln_set_prepare_only(true);
  for (int32_t i = 0; i < m->num_prepared; ++i) {
    const kiln_prepared_kernel *k = &m->prepared[i];
    operand_storage storage[MAX_OPERANDS];
    kiln_memref *d[MAX_OPERANDS];
    void *data[MAX_OPERANDS] = {NULL};
    if (k->weight_operand >= 0 && k->weight_operand < MAX_OPERANDS)
      data[k->weight_operand] = (void *)(uintptr_t)weights[k->weight_param];
    if (describe(k, storage, d, data))
      replay(k, d);
  }
  kiln_set_prepare_only(false);
  run_once_on_zeros(m);
  kiln_set_thread_count(previous_threads);
}

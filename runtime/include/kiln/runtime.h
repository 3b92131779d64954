/*
 * The internal ABI between Kiln-generated code and the Kiln runtime.
 *
 * Generated public functions (NAME_create, NAME_<entry>, ...) are thin wrappers
 * that pack their arguments into arrays and call the functions below; see
 * docs/abi.md. The runtime is plain C11 and references only libc, because it is
 * compiled to LLVM bitcode and linked (internalized) into every generated
 * library.
 */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the same values as the generated NAME_OK ... NAME_ERROR_INTERNAL. */
enum {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT = 1, /* NULL model/tensor pointer, symbolic dim < 1, overflow */
  KILN_ERROR_IO = 2,               /* the weights file cannot be opened, mapped or read */
  KILN_ERROR_FORMAT = 3,           /* the weights file is not valid safetensors */
  KILN_ERROR_WEIGHTS_MISMATCH = 4, /* a parameter missing, an extra tensor, wrong dtype/shape */
  KILN_ERROR_OUT_OF_MEMORY = 5,    /* an allocation failed */
  KILN_ERROR_INTERNAL = 6,         /* the embedded manifest is malformed (a compiler bug) */
  KILN_ERROR_NOT_FINITE = 7,       /* a train step's loss or gradients are NaN or infinite */
  KILN_ERROR_NO_DEVICE = 8         /* compiled for a GPU, and no driver or GPU is there */
};

/* Layout-compatible with the generated NAME_options. */
typedef struct kiln_options {
  int32_t num_threads; /* 0: one per CPU in the affinity mask; must not be negative */
} kiln_options;

/* A loaded model: the parsed manifest, the mapped weights and a reusable arena. */
typedef struct kiln_model kiln_model;

/*
 * A compiled entry. descriptors[i] points at the i-th MLIR ranked memref
 * descriptor { void *allocated; void *aligned; int64_t offset;
 * int64_t sizes[rank]; int64_t strides[rank]; }, in this order: the arena
 * (memref<?xi8>), every parameter in manifest order, the entry's inputs, then
 * its outputs.
 */
typedef void (*kiln_entry_fn)(void **descriptors);

/*
 * Parses the manifest (manifest_len bytes, no NUL needed), maps and checks the
 * weights file against it. entries[i] is the compiled function of the manifest's
 * i-th entry. options points at a kiln_options or is NULL for defaults. On
 * success stores the model in *out; on failure stores NULL in *out (when out is
 * not NULL), frees everything and leaves a message for kiln_rt_last_error(NULL)
 * on this thread.
 */
int32_t kiln_rt_create(const char *manifest_json, size_t manifest_len,
                       const kiln_entry_fn *entries, int32_t num_entries,
                       const char *weights_path, const void *options, kiln_model **out);

/*
 * The GPU code of a model compiled with kilnc --target=cuda: images, each a
 * NUL-terminated PTX text or a fatbin (PTX and SASS), as cuModuleLoadData
 * takes them, loaded at create time; and the kernels the entries launch by
 * number (kiln_rt_gpu_launch), each an image and a function name.
 */
typedef struct kiln_gpu_program {
  int32_t num_images;
  const char *const *images;
  int32_t num_kernels;
  const int32_t *kernel_images;
  const char *const *kernel_names;
} kiln_gpu_program;

/*
 * The same for a library compiled with its weights (kilnc --embed-weights):
 * with weights_path NULL the parameters are the safetensors file
 * embedded[0..embedded_size), read in place (a model that trains copies it).
 * A weights_path given still wins. gpu is NULL for a model that runs on the
 * host; otherwise create opens the CUDA driver, loads the program and copies
 * the weights to the GPU, or fails with KILN_ERROR_NO_DEVICE.
 */
int32_t kiln_rt_create_embedded(const char *manifest_json, size_t manifest_len,
                                const kiln_entry_fn *entries, int32_t num_entries,
                                const char *weights_path, const void *embedded,
                                size_t embedded_size, const kiln_gpu_program *gpu,
                                const void *options, kiln_model **out);

/*
 * Called by the entries of a model compiled for a GPU, on the thread running
 * the entry: launches kernel number `kernel` of the model's program on the
 * model's stream with grid and block sizes, its parameters in args[0..n) (a
 * 64-bit slot each, scalars in the low bytes). A failure is kept and
 * reported by the call that launched it.
 */
void kiln_rt_gpu_launch(int32_t kernel, int64_t grid_x, int64_t grid_y, int64_t grid_z,
                        int64_t block_x, int64_t block_y, int64_t block_z, const uint64_t *args,
                        int32_t num_args);

/*
 * Runs entry entry_index. dims holds the entry's symbolic dims in manifest order
 * (each >= 1), inputs and outputs the caller's dense row-major tensors in
 * manifest order. May be called from several threads at once on one model.
 */
int32_t kiln_rt_invoke(kiln_model *model, int32_t entry_index, const int64_t *dims,
                       const void *const *inputs, void *const *outputs);

/*
 * kiln_rt_invoke for a model compiled for a GPU, with inputs and outputs in
 * the GPU's memory (pointers of GPU 0's primary context): nothing is copied,
 * and class-index inputs are not checked (the host cannot read them). A
 * model compiled for the host refuses it (KILN_ERROR_INVALID_ARGUMENT).
 */
int32_t kiln_rt_invoke_on_device(kiln_model *model, int32_t entry_index, const int64_t *dims,
                                 const void *const *inputs, void *const *outputs);

/*
 * The message of the last failed call on model, or with model NULL the last
 * failure on this thread of a call that had no model (create, invoke(NULL)).
 * Returns "" when there is none; never NULL.
 */
const char *kiln_rt_last_error(const kiln_model *model);

/* Unmaps and frees everything; NULL is a no-op. */
void kiln_rt_destroy(kiln_model *model);

/*
 * Writes the model's parameters to path as .safetensors, in manifest order,
 * each tensor under its state_dict name, so PyTorch's load_file +
 * load_state_dict accept it. The file is written beside path under a
 * temporary name, synced and renamed over path: a failure leaves any previous
 * file at path as it was and no temporary behind.
 */
int32_t kiln_rt_save_weights(kiln_model *model, const char *path);

/*
 * Train entries (docs/abi.md, "Training"). entry_index names an entry whose
 * manifest spec has "train": its outputs are the loss and the gradients.
 * train_grads runs it, writing the gradients into grads (the entry's
 * num_grads floats, parameter after parameter); train_apply runs one
 * optimizer update of the weights from grads, after clipping; train_step
 * does both, the gradients kept in the call's arena where activations the
 * backward no longer reads were (train_memory: that arena's size at
 * dims). The weights change in place; an update refuses non-finite
 * gradients (KILN_ERROR_NOT_FINITE), leaving the weights as they were, and
 * one entry's updates never run concurrently.
 */
int32_t kiln_rt_train_grads(kiln_model *model, int32_t entry_index, const int64_t *dims,
                            const void *const *inputs, float *loss, float *grads);
int32_t kiln_rt_train_apply(kiln_model *model, int32_t entry_index, float lr,
                            const float *grads);
int32_t kiln_rt_train_step(kiln_model *model, int32_t entry_index, const int64_t *dims,
                           const void *const *inputs, float lr, float *loss);
int32_t kiln_rt_train_memory(kiln_model *model, int32_t entry_index, const int64_t *dims,
                             size_t *bytes);
/* The entry's optimizer state (step count and moments) as a .safetensors
 * file, written atomically like save_weights; load refuses a file saved for
 * another model, entry or optimizer and leaves the state as it was. */
int32_t kiln_rt_train_save_state(kiln_model *model, int32_t entry_index, const char *path);
int32_t kiln_rt_train_load_state(kiln_model *model, int32_t entry_index, const char *path);

/*
 * A key/value cache for a model with the generation pair of entries
 * (docs/abi.md, "Generation"): `prefill(..., tokens) -> (..., present[P, rest])`
 * and `decode_step(tokens[B, 1], positions[B, 1], past[T, rest]) -> (logits,
 * present[1, rest])`, where `rest` holds the batch symbol once. The cache owns
 * max_seq positions of `rest` for one batch; prefill writes the prompt's
 * positions, each decode step reads the T held ones and appends one. One
 * sequence (or batch of them) per cache: several caches may share a model.
 * A cache is used by one thread at a time.
 */
typedef struct kiln_cache kiln_cache;

/* prefill and decode are the entries' indices in the manifest. */
int32_t kiln_rt_cache_create(kiln_model *model, int32_t prefill, int32_t decode, int64_t batch,
                             int64_t max_seq, kiln_cache **out);
void kiln_rt_cache_destroy(kiln_cache *cache);
/* Forgets the held positions: the next call must be a prefill. */
void kiln_rt_cache_reset(kiln_cache *cache);
/* The positions held, or -1 for a NULL or destroyed cache. */
int64_t kiln_rt_cache_length(const kiln_cache *cache);
/*
 * Runs prefill on an empty cache. dims holds prefill's symbolic dims other than
 * the batch, in manifest order; inputs all its inputs; outputs all its outputs
 * but the last, which the cache provides.
 */
int32_t kiln_rt_cache_prefill(kiln_model *model, kiln_cache *cache, const int64_t *dims,
                              const void *const *inputs, void *const *outputs);
/* Runs decode_step for tokens[batch] at position length(); logits[batch, V]. */
int32_t kiln_rt_cache_decode_step(kiln_model *model, kiln_cache *cache, const int64_t *tokens,
                                  float *logits);

/* MLIR's UnrankedMemRefType: a rank and a pointer to a ranked descriptor. */
typedef struct kiln_unranked_memref {
  int64_t rank;
  void *descriptor;
} kiln_unranked_memref;

/*
 * Copies the elements of one strided memref into another of the same shape,
 * any rank; src and dst point at kiln_unranked_memref. Same contract as MLIR's
 * CRunnerUtils memrefCopy, which finalize-memref-to-llvm calls for
 * non-contiguous memref.copy.
 */
void memrefCopy(int64_t elemSize, void *src, void *dst);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KILN_RUNTIME_H */

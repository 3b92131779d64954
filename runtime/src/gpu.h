/* A model's GPU (kilnc --target=cuda): the CUDA driver opened at create
 * time, the program loaded, the weights copied once, and calls that copy
 * their inputs and outputs at the entry boundary. C only. */
#ifndef KILN_GPU_H
#define KILN_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/runtime.h"

typedef struct kiln_gpu kiln_gpu;

/* Opens the driver (libcuda.so.1, or the file KILN_CUDA_DRIVER names),
 * retains GPU 0's primary context, makes the model's stream, loads the
 * program's images and looks up its kernels. Where there is no driver, no
 * GPU or an image does not load, fails with KILN_ERROR_NO_DEVICE and a
 * message on this thread, and *out stays NULL. */
int32_t kiln_gpu_open(const kiln_gpu_program *program, kiln_gpu **out);

/* Frees the device memory, unloads the program and releases the context;
 * NULL is a no-op. */
void kiln_gpu_close(kiln_gpu *gpu);

/* Copies n host buffers (data[i], bytes[i]) into one device allocation that
 * lives as long as gpu; device[i] receives each one's device address. */
int32_t kiln_gpu_upload(kiln_gpu *gpu, int32_t n, const void *const *data, const size_t *bytes,
                        void **device);

struct kiln_model;

/* Runs a checked call of entry_index on the GPU: the inputs are copied to
 * device memory beside the arena (arena_bytes) and the outputs back after
 * the entry's kernels finish; with on_device, inputs and outputs are device
 * pointers already and nothing is copied. Calls on one model take turns on
 * its stream. */
int32_t kiln_gpu_invoke(struct kiln_model *m, int32_t entry_index, const int64_t *dims,
                        const void *const *inputs, void *const *outputs, int64_t arena_bytes,
                        bool on_device);

#endif /* KILN_GPU_H */

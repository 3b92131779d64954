/* A model's GPU: the CUDA driver, loaded at run time so that one library
 * runs wherever it is linked and says "no device" where there is none. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cuda_driver.h"
#include "dtype.h"
#include "error.h"
#include "gpu.h"
#include "invoke.h"
#include "model.h"

/* Device buffers start on this boundary (the driver's own is 256). */
#define KILN_GPU_ALIGN 256u

struct kiln_gpu {
  void *library;
  struct {
#define KILN_DECLARE_DRIVER_FUNCTION(ret, name, symbol, params) ret(*name) params;
    KILN_CUDA_DRIVER_FUNCTIONS(KILN_DECLARE_DRIVER_FUNCTION)
#undef KILN_DECLARE_DRIVER_FUNCTION
  } cu;
  CUdevice device;
  CUcontext context; /* the device's primary context, retained */
  CUstream stream;
  int32_t num_modules;
  CUmodule *modules;
  int32_t num_kernels;
  CUfunction *kernels;
  const char *const *kernel_names;

  CUdeviceptr weights; /* kiln_gpu_upload's block */
  /* A call's arena, inputs and outputs, kept for the next call. */
  CUdeviceptr buffer;
  size_t buffer_capacity;
  /* One call at a time on the stream; the launch state below is the
   * running call's. */
  pthread_mutex_t lock;
  CUresult launch_error;
  int32_t failed_kernel;
};

/* The model whose entry this thread is running, for kiln_rt_gpu_launch. */
static _Thread_local kiln_gpu *current_gpu;

static const char *error_name(const kiln_gpu *gpu, CUresult result) {
  const char *name = NULL;
  if (gpu->cu.get_error_name && gpu->cu.get_error_name(result, &name) == 0 && name)
    return name;
  return "an unknown CUDA error";
}

static size_t align_up(size_t bytes) {
  return (bytes + KILN_GPU_ALIGN - 1) / KILN_GPU_ALIGN * KILN_GPU_ALIGN;
}

static int32_t load_driver(kiln_gpu *gpu) {
  const char *path = getenv("KILN_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  gpu->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!gpu->library) {
    const char *why = dlerror();
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE,
                       "this model was compiled for an NVIDIA GPU (kilnc --target=cuda), and "
                       "the CUDA driver cannot be loaded: %s; compile it without --target "
                       "to run on the CPU",
                       why ? why : path);
  }
#define KILN_LOAD_DRIVER_FUNCTION(ret, name, symbol, params)                                       \
  *(void **)&gpu->cu.name = dlsym(gpu->library, symbol);                                           \
  if (!gpu->cu.name)                                                                               \
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE,                                                 \
                       "the CUDA driver %s lacks %s: it is older than CUDA 11", path, symbol);
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_LOAD_DRIVER_FUNCTION)
#undef KILN_LOAD_DRIVER_FUNCTION
  return KILN_OK;
}

static int32_t open_device(kiln_gpu *gpu) {
  CUresult r = gpu->cu.init(0);
  int count = 0;
  if (r == 0)
    r = gpu->cu.device_get_count(&count);
  if (r != 0 || count == 0)
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE,
                       "this model was compiled for an NVIDIA GPU (kilnc --target=cuda), and "
                       "the CUDA driver finds none (%s)",
                       r != 0 ? error_name(gpu, r) : "0 devices");
  r = gpu->cu.device_get(&gpu->device, 0);
  if (r == 0)
    r = gpu->cu.primary_ctx_retain(&gpu->context, gpu->device);
  if (r != 0)
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "cannot open GPU 0: %s", error_name(gpu, r));
  return KILN_OK;
}

static int32_t load_program(kiln_gpu *gpu, const kiln_gpu_program *program) {
  CUresult r = gpu->cu.stream_create(&gpu->stream, KILN_CU_STREAM_NON_BLOCKING);
  if (r != 0)
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "cannot make a CUDA stream: %s",
                       error_name(gpu, r));
  gpu->modules = kiln_calloc((size_t)program->num_images + 1, sizeof *gpu->modules);
  gpu->kernels = kiln_calloc((size_t)program->num_kernels + 1, sizeof *gpu->kernels);
  if (!gpu->modules || !gpu->kernels)
    return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory loading the GPU program");
  for (int32_t i = 0; i < program->num_images; ++i) {
    /* PTX is compiled for this GPU here, by the driver. */
    r = gpu->cu.module_load_data(&gpu->modules[i], program->images[i]);
    if (r != 0)
      return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE,
                         "GPU 0 cannot load the model's kernels (image %d): %s; the model may "
                         "need a newer driver or another --target=cuda:sm_NN",
                         (int)i, error_name(gpu, r));
    gpu->num_modules = i + 1;
  }
  for (int32_t k = 0; k < program->num_kernels; ++k) {
    int32_t image = program->kernel_images[k];
    r = image >= 0 && image < program->num_images
            ? gpu->cu.module_get_function(&gpu->kernels[k], gpu->modules[image],
                                          program->kernel_names[k])
            : 1;
    if (r != 0)
      return kiln_errorf(NULL, KILN_ERROR_INTERNAL,
                         "internal error: the model's kernel '%s' is not in its image %d "
                         "(a compiler bug)",
                         program->kernel_names[k], (int)image);
  }
  gpu->num_kernels = program->num_kernels;
  gpu->kernel_names = program->kernel_names;
  return KILN_OK;
}

int32_t kiln_gpu_open(const kiln_gpu_program *program, kiln_gpu **out) {
  *out = NULL;
  kiln_gpu *gpu = kiln_calloc(1, sizeof *gpu);
  if (!gpu)
    return kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY, "out of memory opening the GPU");
  pthread_mutex_init(&gpu->lock, NULL);
  int32_t status = load_driver(gpu);
  if (status == KILN_OK)
    status = open_device(gpu);
  if (status == KILN_OK) {
    CUresult r = gpu->cu.ctx_push(gpu->context);
    if (r != 0)
      status = kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "cannot use GPU 0: %s", error_name(gpu, r));
    else {
      status = load_program(gpu, program);
      CUcontext popped;
      gpu->cu.ctx_pop(&popped);
    }
  }
  if (status != KILN_OK) {
    kiln_gpu_close(gpu);
    return status;
  }
  *out = gpu;
  return KILN_OK;
}

void kiln_gpu_close(kiln_gpu *gpu) {
  if (!gpu)
    return;
  if (gpu->context && gpu->cu.ctx_push(gpu->context) == 0) {
    if (gpu->stream)
      gpu->cu.stream_destroy(gpu->stream);
    if (gpu->buffer)
      gpu->cu.mem_free(gpu->buffer);
    if (gpu->weights)
      gpu->cu.mem_free(gpu->weights);
    for (int32_t i = 0; i < gpu->num_modules; ++i)
      gpu->cu.module_unload(gpu->modules[i]);
    CUcontext popped;
    gpu->cu.ctx_pop(&popped);
    gpu->cu.primary_ctx_release(gpu->device);
  }
  if (gpu->library)
    dlclose(gpu->library);
  pthread_mutex_destroy(&gpu->lock);
  kiln_free(gpu->modules);
  kiln_free(gpu->kernels);
  kiln_free(gpu);
}

int32_t kiln_gpu_upload(kiln_gpu *gpu, int32_t n, const void *const *data, const size_t *bytes,
                        void **device) {
  size_t total = 0;
  for (int32_t i = 0; i < n; ++i) {
    total += align_up(bytes[i]);
    device[i] = NULL; /* an empty tensor's address, never read */
  }
  if (total == 0)
    return KILN_OK;
  int32_t status = KILN_OK;
  if (gpu->cu.ctx_push(gpu->context) != 0)
    return kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "cannot use GPU 0");
  CUresult r = gpu->cu.mem_alloc(&gpu->weights, total);
  if (r != 0) {
    gpu->weights = 0;
    status = kiln_errorf(NULL, KILN_ERROR_OUT_OF_MEMORY,
                         "cannot allocate %zu bytes for the weights on GPU 0: %s", total,
                         error_name(gpu, r));
  }
  size_t offset = 0;
  for (int32_t i = 0; status == KILN_OK && i < n; ++i) {
    device[i] = (void *)(uintptr_t)(gpu->weights + offset);
    if (bytes[i] > 0 &&
        (r = gpu->cu.memcpy_htod(gpu->weights + offset, data[i], bytes[i], gpu->stream)) != 0)
      status = kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "copying the weights to GPU 0 failed: %s",
                           error_name(gpu, r));
    offset += align_up(bytes[i]);
  }
  if (status == KILN_OK && (r = gpu->cu.stream_synchronize(gpu->stream)) != 0)
    status = kiln_errorf(NULL, KILN_ERROR_NO_DEVICE, "copying the weights to GPU 0 failed: %s",
                         error_name(gpu, r));
  CUcontext popped;
  gpu->cu.ctx_pop(&popped);
  return status;
}

void kiln_rt_gpu_launch(int32_t kernel, int64_t grid_x, int64_t grid_y, int64_t grid_z,
                        int64_t block_x, int64_t block_y, int64_t block_z, const uint64_t *args,
                        int32_t num_args) {
  kiln_gpu *gpu = current_gpu;
  if (!gpu || gpu->launch_error != 0)
    return; /* after a failure the call's results are lost anyway */
  /* A symbolic size can make a loop empty: nothing to launch. */
  if (grid_x < 1 || grid_y < 1 || grid_z < 1 || block_x < 1 || block_y < 1 || block_z < 1)
    return;
  const int64_t limit = UINT_MAX;
  if (kernel < 0 || kernel >= gpu->num_kernels || grid_x > limit || grid_y > limit ||
      grid_z > limit || block_x > limit || block_y > limit || block_z > limit) {
    gpu->launch_error = -1;
    gpu->failed_kernel = kernel;
    return;
  }
  void *stack_params[64];
  void **params = num_args <= 64 ? stack_params : kiln_malloc((size_t)num_args * sizeof(void *));
  if (!params) {
    gpu->launch_error = -1;
    gpu->failed_kernel = kernel;
    return;
  }
  for (int32_t i = 0; i < num_args; ++i)
    params[i] = (void *)(uintptr_t)&args[i];
  CUresult r = gpu->cu.launch_kernel(gpu->kernels[kernel], (unsigned)grid_x, (unsigned)grid_y,
                                     (unsigned)grid_z, (unsigned)block_x, (unsigned)block_y,
                                     (unsigned)block_z, 0, gpu->stream, params, NULL);
  if (params != stack_params)
    kiln_free(params);
  if (r != 0) {
    gpu->launch_error = r;
    gpu->failed_kernel = kernel;
  }
}

/* The bytes of tensor t with the call's (checked) symbolic dims. */
static size_t tensor_bytes(const kiln_tensor_spec *t, const int64_t *dims) {
  size_t bytes = (size_t)kiln_dtype_size(t->dtype);
  for (int32_t i = 0; i < t->rank; ++i)
    bytes *= (size_t)(t->dims[i] >= 0 ? t->dims[i] : dims[KILN_DIM_SYMBOL_INDEX(t->dims[i])]);
  return bytes;
}

/* Grows the call buffer to at least bytes (the stream is idle between
 * calls, so the old one can go). */
static int32_t reserve_buffer(kiln_model *m, kiln_gpu *gpu, size_t bytes) {
  if (gpu->buffer_capacity >= bytes)
    return KILN_OK;
  if (gpu->buffer)
    gpu->cu.mem_free(gpu->buffer);
  gpu->buffer = 0;
  gpu->buffer_capacity = 0;
  CUresult r = gpu->cu.mem_alloc(&gpu->buffer, bytes);
  if (r != 0) {
    gpu->buffer = 0;
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY,
                       "cannot allocate %zu bytes on GPU 0 for a call: %s", bytes,
                       error_name(gpu, r));
  }
  gpu->buffer_capacity = bytes;
  return KILN_OK;
}

/* Runs the entry with every buffer on the device: the arena first, then the
 * inputs (copied in), then the outputs (copied out); or, when the caller's
 * tensors are on the device already, the arena alone. */
static int32_t invoke_on_device(kiln_model *m, kiln_gpu *gpu, int32_t entry_index,
                                const int64_t *dims, const void *const *inputs,
                                void *const *outputs, int64_t arena_bytes, bool on_device,
                                void **device) {
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  int32_t num_tensors = on_device ? 0 : e->num_inputs + e->num_outputs;
  size_t total = align_up((size_t)arena_bytes > 0 ? (size_t)arena_bytes : 1);
  for (int32_t i = 0; i < num_tensors; ++i) {
    const kiln_tensor_spec *t = i < e->num_inputs ? &e->inputs[i] : &e->outputs[i - e->num_inputs];
    total += align_up(tensor_bytes(t, dims) > 0 ? tensor_bytes(t, dims) : 1);
  }
  int32_t status = reserve_buffer(m, gpu, total);
  if (status != KILN_OK)
    return status;
  size_t offset = align_up((size_t)arena_bytes > 0 ? (size_t)arena_bytes : 1);
  CUresult r = 0;
  for (int32_t i = 0; i < num_tensors; ++i) {
    const kiln_tensor_spec *t = i < e->num_inputs ? &e->inputs[i] : &e->outputs[i - e->num_inputs];
    size_t bytes = tensor_bytes(t, dims);
    device[i] = (void *)(uintptr_t)(gpu->buffer + offset);
    if (i < e->num_inputs && bytes > 0 && r == 0)
      r = gpu->cu.memcpy_htod(gpu->buffer + offset, inputs[i], bytes, gpu->stream);
    offset += align_up(bytes > 0 ? bytes : 1);
  }
  if (r != 0)
    return kiln_errorf(&m->error, KILN_ERROR_NO_DEVICE,
                       "copying the inputs of entry '%s' to GPU 0 failed: %s", e->name,
                       error_name(gpu, r));

  if (on_device) {
    memcpy(device, inputs, (size_t)e->num_inputs * sizeof(void *));
    memcpy(device + e->num_inputs, outputs, (size_t)e->num_outputs * sizeof(void *));
  }
  gpu->launch_error = 0;
  current_gpu = gpu;
  status = kiln_invoke_in(m, entry_index, dims, (const void *const *)device, device + e->num_inputs,
                          (void *)(uintptr_t)gpu->buffer, arena_bytes);
  current_gpu = NULL;
  if (status != KILN_OK)
    return status;
  if (gpu->launch_error != 0)
    return kiln_errorf(&m->error, KILN_ERROR_INTERNAL,
                       "entry '%s': launching GPU kernel '%s' failed: %s", e->name,
                       gpu->failed_kernel >= 0 && gpu->failed_kernel < gpu->num_kernels
                           ? gpu->kernel_names[gpu->failed_kernel]
                           : "?",
                       gpu->launch_error == -1 ? "sizes out of range or out of memory"
                                               : error_name(gpu, gpu->launch_error));
  for (int32_t i = 0; i < e->num_outputs && r == 0 && !on_device; ++i) {
    size_t bytes = tensor_bytes(&e->outputs[i], dims);
    if (bytes > 0)
      r = gpu->cu.memcpy_dtoh(outputs[i], (CUdeviceptr)(uintptr_t)device[e->num_inputs + i], bytes,
                              gpu->stream);
  }
  if (r == 0)
    r = gpu->cu.stream_synchronize(gpu->stream);
  if (r != 0)
    return kiln_errorf(&m->error, KILN_ERROR_INTERNAL, "entry '%s' failed on GPU 0: %s", e->name,
                       error_name(gpu, r));
  return KILN_OK;
}

int32_t kiln_gpu_invoke(kiln_model *m, int32_t entry_index, const int64_t *dims,
                        const void *const *inputs, void *const *outputs, int64_t arena_bytes,
                        bool on_device) {
  kiln_gpu *gpu = m->gpu;
  const kiln_entry_spec *e = &m->manifest.entries[entry_index];
  void *stack_device[32];
  size_t count = (size_t)e->num_inputs + (size_t)e->num_outputs;
  void **device = count <= 32 ? stack_device : kiln_malloc(count * sizeof(void *));
  if (!device)
    return kiln_errorf(&m->error, KILN_ERROR_OUT_OF_MEMORY, "out of memory calling entry '%s'",
                       e->name);
  pthread_mutex_lock(&gpu->lock);
  int32_t status;
  if (gpu->cu.ctx_push(gpu->context) != 0) {
    status =
        kiln_errorf(&m->error, KILN_ERROR_NO_DEVICE, "cannot use GPU 0 for entry '%s'", e->name);
  } else {
    status = invoke_on_device(m, gpu, entry_index, dims, inputs, outputs, arena_bytes, on_device,
                              device);
    /* Idle again whatever happened, before the buffer can be reused. */
    gpu->cu.stream_synchronize(gpu->stream);
    CUcontext popped;
    gpu->cu.ctx_pop(&popped);
  }
  pthread_mutex_unlock(&gpu->lock);
  if (device != stack_device)
    kiln_free(device);
  return status;
}

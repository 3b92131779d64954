/* The part of the CUDA driver API the runtime uses, declared here because
 * the runtime links no CUDA library: libcuda.so.1 is opened when a model
 * compiled for a GPU is created (gpu.c). These are the driver's stable C
 * ABI: the _v2 names are the symbols cuda.h maps the plain names to. */
#ifndef KILN_CUDA_DRIVER_H
#define KILN_CUDA_DRIVER_H

#include <stddef.h>

typedef int CUresult; /* CUDA_SUCCESS is 0 */
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;

#define KILN_CU_STREAM_NON_BLOCKING 0x1u

/* Each driver function the runtime calls: X(return, name, symbol, params). */
#define KILN_CUDA_DRIVER_FUNCTIONS(X)                                                              \
  X(CUresult, init, "cuInit", (unsigned flags))                                                    \
  X(CUresult, device_get_count, "cuDeviceGetCount", (int *count))                                  \
  X(CUresult, device_get, "cuDeviceGet", (CUdevice * device, int ordinal))                         \
  X(CUresult, primary_ctx_retain, "cuDevicePrimaryCtxRetain", (CUcontext * ctx, CUdevice dev))     \
  X(CUresult, primary_ctx_release, "cuDevicePrimaryCtxRelease_v2", (CUdevice dev))                 \
  X(CUresult, ctx_push, "cuCtxPushCurrent_v2", (CUcontext ctx))                                    \
  X(CUresult, ctx_pop, "cuCtxPopCurrent_v2", (CUcontext * ctx))                                    \
  X(CUresult, module_load_data, "cuModuleLoadData", (CUmodule * module, const void *image))        \
  X(CUresult, module_unload, "cuModuleUnload", (CUmodule module))                                  \
  X(CUresult, module_get_function, "cuModuleGetFunction",                                          \
    (CUfunction * function, CUmodule module, const char *name))                                    \
  X(CUresult, launch_kernel, "cuLaunchKernel",                                                     \
    (CUfunction f, unsigned grid_x, unsigned grid_y, unsigned grid_z, unsigned block_x,            \
     unsigned block_y, unsigned block_z, unsigned shared_bytes, CUstream stream, void **params,    \
     void **extra))                                                                                \
  X(CUresult, mem_alloc, "cuMemAlloc_v2", (CUdeviceptr * ptr, size_t bytes))                       \
  X(CUresult, mem_free, "cuMemFree_v2", (CUdeviceptr ptr))                                         \
  X(CUresult, memcpy_htod, "cuMemcpyHtoDAsync_v2",                                                 \
    (CUdeviceptr dst, const void *src, size_t bytes, CUstream stream))                             \
  X(CUresult, memcpy_dtoh, "cuMemcpyDtoHAsync_v2",                                                 \
    (void *dst, CUdeviceptr src, size_t bytes, CUstream stream))                                   \
  X(CUresult, stream_create, "cuStreamCreate", (CUstream * stream, unsigned flags))                \
  X(CUresult, stream_destroy, "cuStreamDestroy_v2", (CUstream stream))                             \
  X(CUresult, stream_synchronize, "cuStreamSynchronize", (CUstream stream))                        \
  X(CUresult, get_error_name, "cuGetErrorName", (CUresult error, const char **name))

#endif /* KILN_CUDA_DRIVER_H */

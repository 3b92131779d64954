/* A stand-in for libcuda.so.1, for testing a --target=cuda library where
 * there is no GPU: it runs no kernel, but checks everything the library asks
 * of the driver. Device memory is host memory it keeps track of; each loaded
 * PTX image's entries are read for their parameter lists; every launch is
 * checked against its kernel: the number of parameters, and that each
 * pointer parameter points into live device memory (a host pointer passed to
 * a kernel would crash a real GPU's kernel). Copies must stay inside their
 * allocation. When the library lets go of it (dlclose at destroy) it prints
 * what it saw, for FileCheck; a failed check makes the call fail, as the
 * real driver would, and is printed at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
enum { OK = 0, INVALID_VALUE = 1, NOT_FOUND = 500, LAUNCH_FAILED = 719 };

#define MAX_PARAMS 256
#define MAX_ALLOCATIONS 4096

typedef struct {
  char name[256];
  int num_params;
  unsigned char is_pointer[MAX_PARAMS];
} fake_function;

typedef struct {
  int num_functions;
  fake_function *functions;
} fake_module;

static struct {
  uintptr_t base[MAX_ALLOCATIONS];
  size_t size[MAX_ALLOCATIONS];
  int count;
} live;

static long modules_loaded, modules_unloaded, kernels_found, launches, failures;
static size_t bytes_in, bytes_out;
static int contexts;

static void fail(const char *what, const char *detail) {
  ++failures;
  printf("fake-cuda: FAILED %s: %s\n", what, detail);
}

/* The allocation holding [p, p + bytes), or -1. */
static int find_allocation(uintptr_t p, size_t bytes) {
  for (int i = 0; i < live.count; ++i)
    if (p >= live.base[i] && p < live.base[i] + live.size[i] &&
        bytes <= live.base[i] + live.size[i] - p)
      return i;
  return -1;
}

/* Reads the `.entry NAME(.param ..., ...)` signatures of a PTX image. */
static void read_entries(const char *ptx, fake_module *module) {
  for (const char *p = strstr(ptx, ".entry "); p; p = strstr(p + 1, ".entry ")) {
    module->functions =
        realloc(module->functions, (size_t)(module->num_functions + 1) * sizeof(fake_function));
    fake_function *f = &module->functions[module->num_functions++];
    memset(f, 0, sizeof *f);
    const char *name = p + strlen(".entry ");
    size_t length = strcspn(name, "( \n");
    snprintf(f->name, sizeof f->name, "%.*s", (int)length, name);
    const char *end = strchr(name, ')');
    for (const char *q = strstr(name, ".param"); q && end && q < end; q = strstr(q + 1, ".param")) {
      const char *line_end = strpbrk(q, ",)");
      const char *ptr = strstr(q, ".ptr");
      if (f->num_params < MAX_PARAMS)
        f->is_pointer[f->num_params] = ptr && line_end && ptr < line_end;
      ++f->num_params;
    }
  }
}

CUresult cuInit(unsigned flags) { return flags == 0 ? OK : INVALID_VALUE; }
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return OK;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? OK : INVALID_VALUE;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  ++contexts;
  *ctx = &contexts;
  return device == 0 ? OK : INVALID_VALUE;
}
CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  --contexts;
  return device == 0 ? OK : INVALID_VALUE;
}
CUresult cuCtxPushCurrent_v2(void *ctx) { return ctx == &contexts ? OK : INVALID_VALUE; }
CUresult cuCtxPopCurrent_v2(void **ctx) {
  *ctx = &contexts;
  return OK;
}
CUresult cuStreamCreate(void **stream, unsigned flags) {
  (void)flags;
  *stream = malloc(1);
  return OK;
}
CUresult cuStreamDestroy_v2(void *stream) {
  free(stream);
  return OK;
}
CUresult cuStreamSynchronize(void *stream) { return stream ? OK : INVALID_VALUE; }

/* A fatbin (kilnc's, with its PTX uncompressed) as text: its bytes up to
 * the size its header gives, NULs made newlines. NULL for PTX. */
static char *fatbin_text(const void *image) {
  uint32_t magic;
  memcpy(&magic, image, sizeof magic);
  if (magic != 0xBA55ED50u)
    return NULL;
  uint16_t header;
  uint64_t body;
  memcpy(&header, (const char *)image + 6, sizeof header);
  memcpy(&body, (const char *)image + 8, sizeof body);
  size_t size = header + body;
  char *text = malloc(size + 1);
  memcpy(text, image, size);
  for (size_t i = 0; i < size; ++i)
    if (text[i] == '\0')
      text[i] = '\n';
  text[size] = '\0';
  return text;
}

static long fatbins;

CUresult cuModuleLoadData(void **module, const void *image) {
  fake_module *m = calloc(1, sizeof *m);
  char *fatbin = fatbin_text(image);
  fatbins += fatbin != NULL;
  read_entries(fatbin ? fatbin : image, m);
  free(fatbin);
  if (m->num_functions == 0) {
    fail("cuModuleLoadData", "an image without .entry");
    free(m);
    return INVALID_VALUE;
  }
  ++modules_loaded;
  *module = m;
  return OK;
}
CUresult cuModuleUnload(void *module) {
  fake_module *m = module;
  free(m->functions);
  free(m);
  ++modules_unloaded;
  return OK;
}
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  fake_module *m = module;
  for (int i = 0; i < m->num_functions; ++i)
    if (strcmp(m->functions[i].name, name) == 0) {
      *function = &m->functions[i];
      ++kernels_found;
      return OK;
    }
  fail("cuModuleGetFunction", name);
  return NOT_FOUND;
}

CUresult cuMemAlloc_v2(uintptr_t *ptr, size_t bytes) {
  if (bytes == 0 || live.count == MAX_ALLOCATIONS)
    return INVALID_VALUE;
  void *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p)
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  live.base[live.count] = (uintptr_t)p;
  live.size[live.count++] = bytes;
  *ptr = (uintptr_t)p;
  return OK;
}
CUresult cuMemFree_v2(uintptr_t ptr) {
  for (int i = 0; i < live.count; ++i)
    if (live.base[i] == ptr) {
      free((void *)ptr);
      live.base[i] = live.base[live.count - 1];
      live.size[i] = live.size[--live.count];
      return OK;
    }
  fail("cuMemFree", "not an allocation's start");
  return INVALID_VALUE;
}
CUresult cuMemcpyHtoDAsync_v2(uintptr_t dst, const void *src, size_t bytes, void *stream) {
  (void)stream;
  if (find_allocation(dst, bytes) < 0) {
    fail("cuMemcpyHtoD", "destination outside device memory");
    return INVALID_VALUE;
  }
  memcpy((void *)dst, src, bytes);
  bytes_in += bytes;
  return OK;
}
CUresult cuMemcpyDtoHAsync_v2(void *dst, uintptr_t src, size_t bytes, void *stream) {
  (void)stream;
  if (find_allocation(src, bytes) < 0) {
    fail("cuMemcpyDtoH", "source outside device memory");
    return INVALID_VALUE;
  }
  memcpy(dst, (const void *)src, bytes);
  bytes_out += bytes;
  return OK;
}

CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned shared, void *stream, void **params,
                        void **extra) {
  const fake_function *f = function;
  char detail[512];
  ++launches;
  if (!stream || extra || shared != 0 || !params) {
    fail(f->name, "stream, params, shared memory or extra");
    return INVALID_VALUE;
  }
  if (gx == 0 || gy == 0 || gz == 0 || (unsigned long)bx * by * bz == 0 ||
      (unsigned long)bx * by * bz > 1024 || gy > 65535 || gz > 65535) {
    snprintf(detail, sizeof detail, "grid %ux%ux%u, block %ux%ux%u", gx, gy, gz, bx, by, bz);
    fail(f->name, detail);
    return INVALID_VALUE;
  }
  /* Kiln's runtime passes its parameters as consecutive 64-bit slots, so a
   * kernel that takes more than it was given shows as a parameter outside
   * the run of slots (the driver itself cannot tell). */
  for (int i = 1; i < f->num_params; ++i)
    if ((const char *)params[i] != (const char *)params[0] + 8 * i) {
      snprintf(detail, sizeof detail, "parameter %d of %d is not in the runtime's slots", i,
               f->num_params);
      fail(f->name, detail);
      return INVALID_VALUE;
    }
  /* Each pointer parameter must be device memory (or its end). */
  for (int i = 0; i < f->num_params && i < MAX_PARAMS; ++i) {
    if (!f->is_pointer[i])
      continue;
    uintptr_t value = *(const uintptr_t *)params[i];
    if (find_allocation(value, 0) < 0 && find_allocation(value - 1, 1) < 0) {
      snprintf(detail, sizeof detail, "parameter %d of %d is 0x%llx, not device memory", i,
               f->num_params, (unsigned long long)value);
      fail(f->name, detail);
      return LAUNCH_FAILED;
    }
  }
  return OK;
}

CUresult cuGetErrorName(CUresult error, const char **name) {
  *name = error == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED (fake)" : "CUDA_ERROR_FAKE";
  return OK;
}

__attribute__((destructor)) static void report(void) {
  printf("fake-cuda: %ld modules loaded (%ld fatbins), %ld unloaded, %ld kernels found, "
         "%ld launches, %ld failed checks\n",
         modules_loaded, fatbins, modules_unloaded, kernels_found, launches, failures);
  printf("fake-cuda: %zu bytes in, %zu bytes out, %d allocations live, %d contexts retained\n",
         bytes_in, bytes_out, live.count, contexts);
  fflush(stdout);
}

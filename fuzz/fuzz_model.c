/* The fuzz targets' model (fuzz_model.h). */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char kiln_fuzz_manifest[] =
    "{\"model\": \"fuzz\","
    " \"params\": ["
    "  {\"name\": \"fc1.weight\", \"dtype\": \"f32\", \"shape\": [4, 3]},"
    "  {\"name\": \"fc1.bias\", \"dtype\": \"f32\", \"shape\": [4]},"
    "  {\"name\": \"embed\", \"dtype\": \"bf16\", \"shape\": [5, 2]},"
    "  {\"name\": \"step\", \"dtype\": \"i64\", \"shape\": []},"
    "  {\"name\": \"mask\", \"dtype\": \"bool\", \"shape\": [3]}],"
    " \"entries\": [{"
    "  \"name\": \"predict\", \"symbols\": [\"B\"],"
    "  \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [\"B\", 3]}],"
    "  \"outputs\": [{\"name\": \"out\", \"dtype\": \"f32\", \"shape\": [\"B\", 4]}],"
    "  \"arena\": [{\"coeff\": 4096, \"symbols\": []}, {\"coeff\": 1536, \"symbols\": [\"B\"]}]"
    " }, {"
    "  \"name\": \"stats\", \"symbols\": [\"N\", \"M\"],"
    "  \"inputs\": [{\"name\": \"v\", \"dtype\": \"i64\", \"shape\": [\"N\", \"M\", 2]}],"
    "  \"outputs\": [{\"name\": \"total\", \"dtype\": \"f32\", \"shape\": []}],"
    "  \"arena\": [{\"coeff\": 8, \"symbols\": [\"N\", \"M\"]}, {\"coeff\": 3, \"symbols\": [\"M\", \"M\"]}]"
    " }, {"
    "  \"name\": \"classify\", \"symbols\": [\"B\"],"
    "  \"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [\"B\", 3]},"
    "             {\"name\": \"y\", \"dtype\": \"i64\", \"shape\": [\"B\"], \"classes\": 4}],"
    "  \"outputs\": [{\"name\": \"loss\", \"dtype\": \"f32\", \"shape\": []}],"
    "  \"arena\": [{\"coeff\": 64, \"symbols\": []}]"
    " }]}";

int64_t kiln_fuzz_expected_dims[2];
long kiln_fuzz_entry_calls;

_Noreturn void kiln_fuzz_fail(const char *why) {
  fprintf(stderr, "fuzz target: %s\n", why);
  abort();
}

/* One ranked memref descriptor, read the way the generated code lays it out. */
typedef struct {
  void *aligned;
  int64_t offset, sizes[4], strides[4];
} desc;

static desc read_desc(void *descriptor, int rank) {
  const char *p = descriptor;
  desc d;
  memcpy(&d.aligned, p + sizeof(void *), sizeof(void *));
  memcpy(&d.offset, p + 2 * sizeof(void *), sizeof(int64_t));
  memcpy(d.sizes, p + 2 * sizeof(void *) + sizeof(int64_t), (size_t)rank * sizeof(int64_t));
  memcpy(d.strides, p + 2 * sizeof(void *) + (size_t)(1 + rank) * sizeof(int64_t),
         (size_t)rank * sizeof(int64_t));
  return d;
}

/* The descriptor of a dense row-major tensor of these sizes. */
static desc expect_dense(void *descriptor, int rank, const int64_t *sizes, size_t elem) {
  desc d = read_desc(descriptor, rank);
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (d.sizes[i] != sizes[i] || d.strides[i] != stride)
      kiln_fuzz_fail("a descriptor's sizes or strides are not the bound shape's");
    stride *= sizes[i];
  }
  if (d.offset != 0 || !d.aligned || (uintptr_t)d.aligned % elem != 0)
    kiln_fuzz_fail("a descriptor's data is null, offset or misaligned");
  return d;
}

/* Descriptors: the arena, the five parameters, then inputs and outputs. */
static void check_params_and_arena(void **descriptors, int64_t arena_bytes) {
  static const int64_t w[] = {4, 3}, b[] = {4}, e[] = {5, 2}, m[] = {3};
  expect_dense(descriptors[1], 2, w, 4);
  expect_dense(descriptors[2], 1, b, 4);
  expect_dense(descriptors[3], 2, e, 2);
  expect_dense(descriptors[4], 0, NULL, 8);
  expect_dense(descriptors[5], 1, m, 1);
  desc arena = read_desc(descriptors[0], 1);
  if (arena.sizes[0] < arena_bytes || !arena.aligned)
    kiln_fuzz_fail("the arena is smaller than the manifest promises");
  memset(arena.aligned, 0xAB, (size_t)arena.sizes[0]);
}

static void predict(void **descriptors) {
  ++kiln_fuzz_entry_calls;
  int64_t batch = kiln_fuzz_expected_dims[0];
  check_params_and_arena(descriptors, 4096 + 1536 * batch);
  const float *weight = read_desc(descriptors[1], 2).aligned;
  const float *bias = read_desc(descriptors[2], 1).aligned;
  const int64_t xs[] = {batch, 3}, outs[] = {batch, 4};
  const float *x = expect_dense(descriptors[6], 2, xs, 4).aligned;
  float *out = expect_dense(descriptors[7], 2, outs, 4).aligned;
  for (int64_t r = 0; r < batch; ++r)
    for (int j = 0; j < 4; ++j) {
      float acc = bias[j];
      for (int k = 0; k < 3; ++k)
        acc += x[r * 3 + k] * weight[j * 3 + k];
      out[r * 4 + j] = acc;
    }
}

static void stats(void **descriptors) {
  ++kiln_fuzz_entry_calls;
  int64_t n = kiln_fuzz_expected_dims[0], m = kiln_fuzz_expected_dims[1];
  check_params_and_arena(descriptors, 8 * n * m + 3 * m * m);
  const int64_t vs[] = {n, m, 2};
  const int64_t *v = expect_dense(descriptors[6], 3, vs, 8).aligned;
  float *total = expect_dense(descriptors[7], 0, NULL, 4).aligned;
  double sum = 0;
  for (int64_t i = 0; i < n * m * 2; ++i)
    sum += (double)v[i];
  *total = (float)sum;
}

static void classify(void **descriptors) {
  ++kiln_fuzz_entry_calls;
  int64_t batch = kiln_fuzz_expected_dims[0];
  check_params_and_arena(descriptors, 64);
  const int64_t xs[] = {batch, 3}, ys[] = {batch};
  const float *x = expect_dense(descriptors[6], 2, xs, 4).aligned;
  const int64_t *y = expect_dense(descriptors[7], 1, ys, 8).aligned;
  float *loss = expect_dense(descriptors[8], 0, NULL, 4).aligned;
  float sum = 0;
  for (int64_t r = 0; r < batch; ++r) {
    if (y[r] < 0 || y[r] >= 4)
      kiln_fuzz_fail("a class index outside [0, 4) reached the entry");
    sum += x[r * 3 + y[r] % 3];
  }
  *loss = sum;
}

const kiln_entry_fn kiln_fuzz_entries[KILN_FUZZ_NUM_ENTRIES] = {predict, stats, classify};

/* A valid weights file for the manifest: its header, padded with spaces to
 * a multiple of 8 bytes, then the tensors back to back. */
unsigned char *kiln_fuzz_weights(size_t *size) {
  static const char header[] =
      "{\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
      "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[8,56]},"
      "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[56,72]},"
      "\"embed\":{\"dtype\":\"BF16\",\"shape\":[5,2],\"data_offsets\":[72,92]},"
      "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[92,95]}}";
  uint64_t header_len = (sizeof header - 1 + 7) / 8 * 8;
  size_t data_len = 95;
  *size = 8 + (size_t)header_len + data_len;
  unsigned char *bytes = malloc(*size);
  if (!bytes)
    kiln_fuzz_fail("out of memory building the weights file");
  for (int i = 0; i < 8; ++i)
    bytes[i] = (unsigned char)(header_len >> (8 * i));
  memset(bytes + 8, ' ', (size_t)header_len);
  memcpy(bytes + 8, header, sizeof header - 1);
  unsigned char *data = bytes + 8 + header_len;
  for (size_t i = 0; i < data_len; ++i)
    data[i] = (unsigned char)(i * 7 % 61); /* small finite f32/bf16, bools 0/1 below */
  for (size_t i = 92; i < 95; ++i)
    data[i] = (unsigned char)(i & 1);
  return bytes;
}

int32_t kiln_fuzz_create(const unsigned char *bytes, size_t size, kiln_model **model) {
  *model = NULL;
  int fd = memfd_create("weights.safetensors", 0);
  if (fd < 0)
    return -1;
  if (size && write(fd, bytes, size) != (ssize_t)size) {
    close(fd);
    return -1;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  kiln_options options = {.num_threads = 1};
  int32_t status = kiln_rt_create(kiln_fuzz_manifest, strlen(kiln_fuzz_manifest),
                                  kiln_fuzz_entries, KILN_FUZZ_NUM_ENTRIES, path, &options, model);
  close(fd); /* a mapping keeps the file */
  return status;
}

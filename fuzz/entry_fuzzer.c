/* libFuzzer target: the arguments of an entry call (kiln_rt_invoke, which
 * every generated NAME_<entry> forwards to): the model and entry index, the
 * symbolic dims (small, zero, negative, overflowing), NULL tensor pointers,
 * out-of-range class indices. The input decides each; the target knows which
 * status the runtime must answer and checks it exactly:
 *  - any NULL, a bad index, a dim < 1, a class index outside [0, classes):
 *    KILN_ERROR_INVALID_ARGUMENT and no entry call;
 *  - sizes past what any machine holds (2^47 bytes or more, overflow
 *    included): an error and no entry call;
 *  - otherwise KILN_OK and one entry call, whose fake code checks that the
 *    descriptors are the bound shapes and touches every byte they cover. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"

static kiln_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  size_t size;
  unsigned char *bytes = kiln_fuzz_weights(&size);
  int32_t status = kiln_fuzz_create(bytes, size, &model);
  free(bytes);
  if (status != KILN_OK) {
    fprintf(stderr, "%s\n", status < 0 ? "no in-memory file" : kiln_rt_last_error(NULL));
    kiln_fuzz_fail("cannot create the fuzz model");
  }
  return 0;
}

/* Reads the input front to back; past its end, zeros. */
typedef struct {
  const uint8_t *data;
  size_t size, at;
} reader;

static uint64_t take(reader *r, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i, ++r->at)
    v |= (uint64_t)(r->at < r->size ? r->data[r->at] : 0) << (8 * i);
  return v;
}

/* A dim: mostly small, sometimes zero, negative, near a power of two, or any
 * 64-bit value. */
static int64_t take_dim(reader *r) {
  uint64_t mode = take(r, 1), v = take(r, 8);
  switch (mode % 5) {
  case 0:
  case 1:
    return (int64_t)(v % 9);
  case 2:
    return v & 1 ? INT64_MIN : -(int64_t)(v % 4) - 1;
  case 3:
    return ((int64_t)1 << (16 + v % 47)) + (int64_t)(v >> 8) % 3 - 1;
  default:
    return (int64_t)v;
  }
}

/* a * b and a + b of counts, saturated at 2^62 (enough to tell "past any
 * machine"); a negative count is 0. */
static const int64_t kCap = (int64_t)1 << 62;
static int64_t mul_sat(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0)
    return 0;
  return a > kCap / b ? kCap : a * b;
}
static int64_t add_sat(int64_t a, int64_t b) { return a > kCap - b ? kCap : a + b; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r = {data, size, 0};
  int32_t entry = (int32_t)(take(&r, 1) % 5) - 1; /* -1 and 3 are out of range */
  uint64_t nulls = take(&r, 1);
  int64_t dims[2] = {take_dim(&r), take_dim(&r)};
  bool null_model = nulls & 1, null_dims = nulls & 2, null_inputs = nulls & 4,
       null_outputs = nulls & 8, null_input = nulls & 16, null_output = nulls & 32;

  /* The entry's tensors' element counts and the arena's bytes, saturated. */
  int num_dims = entry == 1 ? 2 : 1;
  int64_t b = dims[0], n = dims[0], m = num_dims == 2 ? dims[1] : 1;
  int64_t in0 = 0, in1 = 0, out0 = 0, arena = 0;
  size_t in0_elem = 4;
  switch (entry) {
  case 0:
    in0 = mul_sat(b, 3), out0 = mul_sat(b, 4), arena = mul_sat(b, 1536);
    break;
  case 1:
    in0 = mul_sat(mul_sat(n, m), 2), out0 = 1, in0_elem = 8;
    arena = add_sat(mul_sat(mul_sat(n, m), 8), mul_sat(mul_sat(m, m), 3));
    break;
  case 2:
    in0 = mul_sat(b, 3), in1 = b, out0 = 1, arena = 64;
    break;
  }
  bool bad_dim = dims[0] < 1 || (num_dims == 2 && dims[1] < 1);
  int64_t in0_bytes = mul_sat(in0, (int64_t)in0_elem), largest = in0_bytes;
  if (mul_sat(in1, 8) > largest)
    largest = mul_sat(in1, 8);
  if (arena > largest)
    largest = arena;
  bool huge = largest >= (int64_t)1 << 47;
  bool invalid = null_model || entry < 0 || entry > 2 || null_dims || bad_dim || null_inputs ||
                 null_outputs || null_input || null_output;

  /* Real buffers up to 1 MiB a tensor; between that and "huge" the call is
   * valid but not one this target can make. Nor is a huge classify call whose
   * sizes do not overflow: the runtime rightly reads its class indices. */
  const int64_t small = (int64_t)1 << 20;
  if (!invalid && !huge && largest > small)
    return 0;
  if (!invalid && huge && entry == 2 && b <= INT64_MAX / 12)
    return 0;
  bool real = !invalid && !huge;
  void *x = real ? calloc((size_t)in0 + 1, in0_elem) : NULL;
  int64_t *y = real && in1 ? calloc((size_t)in1, 8) : NULL;
  float *out = real ? calloc((size_t)out0 + 1, 4) : NULL;
  static float dummy[16];
  bool bad_class = false;
  if (real) {
    for (int64_t i = 0; i < in0; ++i) {
      if (in0_elem == 8)
        ((int64_t *)x)[i] = (int64_t)take(&r, 2) - 32768;
      else
        ((float *)x)[i] = (float)((int64_t)take(&r, 1) - 128) / 16.0f;
    }
    for (int64_t i = 0; i < in1; ++i) {
      y[i] = (int64_t)(take(&r, 1) % 7) - 1; /* -1 and 4, 5 are outside [0, 4) */
      bad_class |= y[i] < 0 || y[i] >= 4;
    }
  }
  const void *inputs[2] = {
      null_input ? NULL : (real ? x : dummy),
      null_input ? NULL : (real && y ? (const void *)y : dummy)};
  void *outputs[1] = {null_output ? NULL : (real ? (void *)out : dummy)};

  kiln_fuzz_expected_dims[0] = dims[0];
  kiln_fuzz_expected_dims[1] = dims[1];
  long calls = kiln_fuzz_entry_calls;
  int32_t status = kiln_rt_invoke(null_model ? NULL : model, entry, null_dims ? NULL : dims,
                                  null_inputs ? NULL : inputs, null_outputs ? NULL : outputs);
  bool called = kiln_fuzz_entry_calls != calls;

  if (invalid || (real && bad_class)) {
    if (status != KILN_ERROR_INVALID_ARGUMENT)
      kiln_fuzz_fail("invalid arguments were not refused with KILN_ERROR_INVALID_ARGUMENT");
  } else if (huge) {
    if (status == KILN_OK)
      kiln_fuzz_fail("a call past any machine's memory was accepted");
  } else if (status != KILN_OK) {
    fprintf(stderr, "%s\n", kiln_rt_last_error(model));
    kiln_fuzz_fail("a valid call failed");
  }
  if (called != (status == KILN_OK))
    kiln_fuzz_fail("the entry ran on a failed call, or did not run on a successful one");
  if (status != KILN_OK && !*kiln_rt_last_error(null_model ? NULL : model))
    kiln_fuzz_fail("a failed call left no message");
  free(x);
  free(y);
  free(out);
  return 0;
}

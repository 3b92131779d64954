/* kiln_warm_up: see warm_up.h. */
#include "warm_up.h"

#include "invoke.h"

/* Smaller than any page size Linux uses, so every page is touched. */
enum { kPageStride = 4096 };

/* Reads one byte of every page of [p, p + bytes), faulting them in. */
static void read_pages(const void *p, size_t bytes) {
  const volatile unsigned char *bytes_in = p;
  unsigned char sum = 0;
  for (size_t i = 0; i < bytes; i += kPageStride)
    sum ^= bytes_in[i];
  if (bytes > 0)
    sum ^= bytes_in[bytes - 1];
  (void)sum;
}

/* Writes a zero into every page of [p, p + bytes). */
static void write_pages(void *p, size_t bytes) {
  volatile unsigned char *bytes_out = p;
  for (size_t i = 0; i < bytes; i += kPageStride)
    bytes_out[i] = 0;
}

static void warm_weights(const kiln_model *m) {
  for (int32_t i = 0; i < m->manifest.num_params && i < m->weights.num_params; ++i) {
    read_pages(m->weights.data[i], kiln_weights_param_bytes(&m->manifest.params[i]));
  }
}

static void warm_arena(kiln_model *m) {
  int64_t largest = 0;
  for (int32_t i = 0; i < m->manifest.num_entries; ++i) {
    const kiln_entry_spec *e = &m->manifest.entries[i];
    int64_t bytes = 0;
    if (e->num_symbols == 0 && kiln_polynomial_eval(&e->arena, NULL, &bytes) && bytes > largest)
      largest = bytes;
  }
  if (largest == 0)
    return;
  /* Grown as a call grows it (rounded the same way), so the first call finds
   * it large enough; a private buffer (the shared one could not be had) is
   * not kept. */
  bool shared = false;
  void *arena = kiln_acquire_arena(m, largest, &shared);
  if (arena && shared)
    write_pages(arena, (size_t)largest);
  kiln_release_arena(m, arena, shared);
}

void kiln_warm_up(kiln_model *m) {
  warm_weights(m);
  warm_arena(m);
}

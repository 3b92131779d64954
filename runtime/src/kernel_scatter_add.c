/* kiln_rt_scatter_add_rows_f32: out[ids[e]] += src[e] for every e, in place
 * (kiln.scatter_add, index_add_ along dim 0: out holds init on entry), in
 * O(E D) work where the linalg lowering compares every row with every id
 * (O(N E D)). In place, an embedding's gradient is accumulated straight into
 * the gradient buffer its zeros were written to, with no [N, D] scratch.
 *
 * The rows of the result are split between threads; each thread scans all
 * the ids and adds the src rows that land in its range. No two threads write one row, and each row sums its
 * contributions in the order of e, so the result does not depend on the
 * thread count. An id outside [0, N) is skipped. */
#include "kernels.h"
#include "parallel.h"

typedef struct scatter_args {
  const float *src;
  const int64_t *ids;
  float *out;
  int64_t rows, edges, width;
  int64_t src_stride[2], out_stride[2], id_stride;
} scatter_args;

/* dst[j * ds] += src[j * ss] for j < n; the unit-stride case as a plain loop
 * the compiler vectorizes. */
static void row_add(float *dst, int64_t ds, const float *src, int64_t ss, int64_t n) {
  if (ds == 1 && ss == 1)
    for (int64_t j = 0; j < n; ++j)
      dst[j] += src[j];
  else
    for (int64_t j = 0; j < n; ++j)
      dst[j * ds] += src[j * ss];
}

static void scatter_range(void *ctx, int64_t begin, int64_t end) {
  const scatter_args *a = ctx;
  for (int64_t e = 0; e < a->edges; ++e) {
    int64_t id = a->ids[e * a->id_stride];
    if (id >= begin && id < end)
      row_add(a->out + id * a->out_stride[0], a->out_stride[1], a->src + e * a->src_stride[0],
              a->src_stride[1], a->width);
  }
}

/* (rank, memref) -> row stride, element stride within a row, and the row
 * width: a rank-1 tensor is N rows of one element. */
static int64_t view_rows(int64_t rank, const kiln_memref *m, int64_t strides[2]) {
  const int64_t *ss = m->sizes_strides;
  strides[0] = ss[rank];
  strides[1] = rank == 2 ? ss[rank + 1] : 1;
  return rank == 2 ? ss[1] : 1;
}

void kiln_rt_scatter_add_rows_f32(KILN_MEMREF_ARG(indices), KILN_MEMREF_ARG(src),
                                  KILN_MEMREF_ARG(out)) {
  (void)indices_rank;
  scatter_args a;
  a.src = (const float *)src->aligned + src->offset;
  a.ids = (const int64_t *)indices->aligned + indices->offset;
  a.out = (float *)out->aligned + out->offset;
  a.rows = out->sizes_strides[0];
  a.edges = indices->sizes_strides[0];
  a.id_stride = indices->sizes_strides[1];
  a.width = view_rows(out_rank, out, a.out_stride);
  view_rows(src_rank, src, a.src_stride);
  /* Each thread scans every id: only worth splitting a large result. */
  int64_t grain = a.width >= 16384 ? 1 : 16384 / (a.width > 0 ? a.width : 1);
  kiln_parallel_for(a.rows, grain, scatter_range, &a);
}

/* gcn_demo: the Kiln-compiled graph convolution network and its contrastive head
 * (examples/gcn).
 *
 *   gcn_demo WEIGHTS.safetensors DATA_DIR [--check]
 *
 * Runs forward on DATA_DIR/forward.x.f32 ([N, 16]) and DATA_DIR/forward.edge_index.i64
 * ([2, E]: sources, then targets, node ids in [0, N)), printing each node's highest-scoring
 * class of the 7; and contrastive_loss on two views, DATA_DIR/contrastive_loss.{x1,x2}.f32
 * ([N, 16]) and DATA_DIR/contrastive_loss.{edges1,edges2}.i64 ([2, E1], [2, E2]), printing
 * the loss. With --check, compares both with DATA_DIR/<entry>.out.f32
 * (|a - b| <= 1e-4 |b| + 1e-6) and exits 1 on a mismatch.
 * Exit status: 0 ok, 1 error or mismatch, 2 bad usage.
 */
#include "gcn.h"

#include "../common/fixture.h"

#include <stdint.h>
#include <stdio.h>

#define FEATURES 16
#define CLASSES 7

int main(int argc, char **argv) {
  fx_args args;
  int rc = fx_parse_args(argc, argv, &args);
  if (rc)
    return rc;
  const char *dir = args.data_dir;
  rc = 1;
  gcn_model *model = NULL;

#define CALL(what, expr) FX_CALL(what, expr, gcn_last_error(model))

  /* Inputs: the node count N and edge counts E, E1, E2 come from the file sizes. */
  size_t n, e, n1, n2, e1, e2;
  float *x = fx_read_rows(dir, "forward.x.f32", FEATURES * sizeof(float), &n);
  int64_t *edges = fx_read_rows(dir, "forward.edge_index.i64", 2 * sizeof(int64_t), &e);
  float *x1 = fx_read_rows(dir, "contrastive_loss.x1.f32", FEATURES * sizeof(float), &n1);
  int64_t *edges1 = fx_read_rows(dir, "contrastive_loss.edges1.i64", 2 * sizeof(int64_t), &e1);
  float *x2 = fx_read_rows(dir, "contrastive_loss.x2.f32", FEATURES * sizeof(float), &n2);
  int64_t *edges2 = fx_read_rows(dir, "contrastive_loss.edges2.i64", 2 * sizeof(int64_t), &e2);
  if (!x || !edges || !x1 || !edges1 || !x2 || !edges2)
    goto done;
  if (n1 != n2) {
    fprintf(stderr, "error: the two views have %zu and %zu nodes\n", n1, n2);
    goto done;
  }
  if (!fx_check_ids("forward.edge_index", edges, 2 * e, (int64_t)n) ||
      !fx_check_ids("contrastive_loss.edges1", edges1, 2 * e1, (int64_t)n1) ||
      !fx_check_ids("contrastive_loss.edges2", edges2, 2 * e2, (int64_t)n1))
    goto done;
  float *out = fx_alloc(n * CLASSES, sizeof(float));
  if (!out)
    goto done;
  float loss = 0.0f;

  if (gcn_create(args.weights_path, NULL, &model) != GCN_OK) {
    fprintf(stderr, "error: %s\n", gcn_last_error(NULL));
    model = NULL;
    goto done;
  }
  CALL("gcn_forward", gcn_forward(model, (int64_t)n, (int64_t)e, x, edges, out));
  CALL("gcn_contrastive_loss", gcn_contrastive_loss(model, (int64_t)n1, (int64_t)e1, (int64_t)e2,
                                                    x1, edges1, x2, edges2, &loss));

  printf("forward: %zu nodes, %zu edges; highest-scoring class per node:", n, e);
  for (size_t i = 0; i < n; ++i) {
    const float *row = out + i * CLASSES;
    size_t best = 0;
    for (size_t c = 1; c < CLASSES; ++c)
      if (row[c] > row[best])
        best = c;
    printf(" %zu", best);
  }
  printf("\n");
  printf("contrastive_loss: %.6f (%zu nodes, %zu + %zu edges)\n", (double)loss, n1, e1, e2);

  if (args.check) {
    float *ref = fx_read_f32(dir, "forward.out.f32", n * CLASSES);
    float *ref_loss = fx_read_f32(dir, "contrastive_loss.out.f32", 1);
    if (!ref || !ref_loss)
      goto done;
    int ok = fx_compare_f32("forward", out, ref, n * CLASSES);
    ok &= fx_compare_f32("contrastive_loss", &loss, ref_loss, 1);
    if (!ok)
      goto done;
    fx_report_check();
  }
  rc = 0;

done:
  gcn_destroy(model);
  fx_free_all();
  return rc;
}

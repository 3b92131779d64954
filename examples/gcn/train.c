/* gcn_train: trains the Kiln-compiled GCN (examples/gcn/gcn.kiln) with its train
 * entries, as scripts/references/gcn_train.py trains it in PyTorch.
 *
 *   gcn_train INIT.safetensors DATA_DIR OUT_DIR [--check]
 *
 * The graph is DATA_DIR/train.x.f32 ([N, 16] node features), train.edge_index.i64
 * ([2, E]: sources, then targets), train.y.i64 ([N] labels 0..6) and train.mask.bool
 * ([N]: the labelled nodes); N and E come from the file sizes.
 *
 * 1. Self-supervised pre-training with `pretrain` (AdamW, lr 1e-2, conv1 and projection
 *    trained) for 50 steps of the contrastive loss on two views of the graph drawn
 *    afresh at each step (GRACE's augmentation: each edge dropped with probability 0.2
 *    in view 1 and 0.4 in view 2, each feature column zeroed with probability 0.3 and
 *    0.4, from the integer generator below, which the reference shares).
 * 2. Node classification with `classify` (Adam, L2 weight decay 5e-4, lr 1e-2, conv1
 *    and conv2 trained) for 100 steps of node_loss on the labelled nodes; reports the
 *    accuracy and node_loss on the others.
 * The first step of each entry runs in halves (_grads, then _apply), the rest whole.
 * Saves the weights after each phase as OUT_DIR/pretrained.safetensors and
 * OUT_DIR/trained.safetensors.
 * Logs every step's loss (and, with --check, the reference's) in OUT_DIR/losses.csv.
 *
 * With --check it compares with the PyTorch reference in DATA_DIR: each entry's step 1
 * gradients (each parameter within 1e-4 of the reference in relative L2 norm), every
 * step's loss (1e-3 relative), the final logits of every node (1e-3 relative, 1e-5
 * absolute), the final held-out loss (1e-3 relative) and weights (1e-3 in relative L2
 * norm per tensor), and checks that pre-training left conv2 and classification left
 * the projection bit-identical. Exit status: 0 ok, 1 error or mismatch, 2 usage.
 */
#include "gcn.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FEATURES ((size_t)GCN_FORWARD_X_DIM1)
#define CLASSES ((size_t)GCN_FORWARD_OUT_DIM1)
#define PRETRAIN_STEPS 50
#define PRETRAIN_LR 1e-2f
#define CLASSIFY_STEPS 100
#define CLASSIFY_LR 1e-2f
#define LOSS_TOL 1e-3
#define GRAD_TOL 1e-4
#define FINAL_REL_TOL 1e-3
#define FINAL_ABS_TOL 1e-5

/* Augmentation, in thousandths: view v drops an edge when a draw r has
 * r % 1000 < kDropEdge[v], and zeroes a feature column when r % 1000 < kDropFeature[v]. */
static const uint64_t kDropEdge[2] = {200, 400};
static const uint64_t kDropFeature[2] = {300, 400};

typedef struct {
  const char *name;
  size_t numel;
} param_info;

/* The model's parameters, in its order (gcn.h). */
static const param_info kParams[] = {{"conv1.bias", 32},
                                     {"conv1.lin.weight", 32 * 16},
                                     {"conv2.bias", 7},
                                     {"conv2.lin.weight", 7 * 32},
                                     {"projection.fc1.weight", 64 * 32},
                                     {"projection.fc1.bias", 64},
                                     {"projection.fc2.weight", 32 * 64},
                                     {"projection.fc2.bias", 32}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])

/* The parameters in each entry's gradient buffer (gcn.h, `pretrain` and `classify`),
 * as indices into kParams. */
static const size_t kPretrainParams[] = {0, 1, 4, 5, 6, 7};
static const size_t kClassifyParams[] = {0, 1, 2, 3};

/* splitmix64: the next state's output (scripts/references/gcn_train.py, splitmix64). */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* View v (0 or 1) of step `step` (0-based), as the reference's view(): one draw per edge
 * in order (kept edges keep their order), then one per feature column. Writes xv [n, 16]
 * and ev [2, *ev_count] (room for 2 e); `keep` is scratch for e flags. */
static int make_view(const float *x, const int64_t *edges, size_t n, size_t e, int step, int v,
                     float *xv, int64_t *ev, size_t *ev_count, unsigned char *keep) {
  uint64_t state = 1000003ull * (uint64_t)(2 * step + v + 1);
  size_t kept = 0;
  for (size_t k = 0; k < e; ++k) {
    keep[k] = splitmix64(&state) % 1000 >= kDropEdge[v];
    kept += keep[k];
  }
  if (kept == 0) {
    fprintf(stderr, "error: view %d of step %d has no edge\n", v + 1, step + 1);
    return 0;
  }
  size_t j = 0;
  for (size_t k = 0; k < e; ++k)
    if (keep[k]) {
      ev[j] = edges[k];            /* source */
      ev[kept + j] = edges[e + k]; /* target */
      ++j;
    }
  *ev_count = kept;
  float column_scale[GCN_FORWARD_X_DIM1];
  for (size_t c = 0; c < FEATURES; ++c)
    column_scale[c] = splitmix64(&state) % 1000 >= kDropFeature[v] ? 1.0f : 0.0f;
  for (size_t i = 0; i < n; ++i)
    for (size_t c = 0; c < FEATURES; ++c)
      xv[i * FEATURES + c] = x[i * FEATURES + c] * column_scale[c];
  return 1;
}

/* The worst relative errors seen, for the summary. */
static double worst_loss_error = 0.0, worst_grad_error = 0.0;

/* Checks a step 1 gradient buffer, parameter by parameter. */
static int check_grads(const char *entry, const float *grads, const float *expected,
                       const size_t *params, size_t num_params) {
  size_t offset = 0;
  for (size_t p = 0; p < num_params; ++p) {
    const param_info *info = &kParams[params[p]];
    if (!tc_check_l2(grads + offset, expected + offset, info->numel, GRAD_TOL, &worst_grad_error,
                     "%s step 1 gradient of %s", entry, info->name))
      return 0;
    offset += info->numel;
  }
  printf("check: %s step 1 gradients of %zu parameters match\n", entry, num_params);
  return 1;
}

/* The graph and its labels. */
typedef struct {
  size_t n, e;
  const float *x;
  const int64_t *edges;
  const int64_t *y;
  const uint8_t *mask;
} graph;

/* Pre-training: step 1 in halves, then PRETRAIN_STEPS - 1 whole steps, each on fresh views. */
static int pretrain(gcn_model *model, const graph *g, const float *expected_grads,
                    const float *expected_losses) {
  float *x1 = fx_alloc(g->n * FEATURES, sizeof *x1), *x2 = fx_alloc(g->n * FEATURES, sizeof *x2);
  int64_t *e1 = fx_alloc(2 * g->e, sizeof *e1), *e2 = fx_alloc(2 * g->e, sizeof *e2);
  unsigned char *keep = fx_alloc(g->e, 1);
  float *grads = fx_alloc(GCN_PRETRAIN_NUM_GRADS, sizeof *grads);
  if (!x1 || !x2 || !e1 || !e2 || !keep || !grads)
    return 0;
  for (int s = 0; s < PRETRAIN_STEPS; ++s) {
    size_t n1 = 0, n2 = 0;
    if (!make_view(g->x, g->edges, g->n, g->e, s, 0, x1, e1, &n1, keep) ||
        !make_view(g->x, g->edges, g->n, g->e, s, 1, x2, e2, &n2, keep))
      return 0;
    float loss = 0.0f;
    int status;
    if (s == 0) {
      status = gcn_pretrain_grads(model, (int64_t)g->n, (int64_t)n1, (int64_t)n2, x1, e1, x2, e2,
                                  &loss, grads);
      if (status == GCN_OK)
        status = gcn_pretrain_apply(model, PRETRAIN_LR, grads);
    } else {
      status = gcn_pretrain(model, PRETRAIN_LR, (int64_t)g->n, (int64_t)n1, (int64_t)n2, x1, e1, x2,
                            e2, &loss);
    }
    if (status != GCN_OK) {
      fprintf(stderr, "error: pretrain step %d failed (status %d): %s\n", s + 1, status,
              gcn_last_error(model));
      return 0;
    }
    if (s == 0)
      printf("pretrain step   1: loss %.4f (%zu + %zu edges; gcn_pretrain_grads + "
             "gcn_pretrain_apply)\n",
             loss, n1, n2);
    else if ((s + 1) % 10 == 0)
      printf("pretrain step %3d: loss %.4f\n", s + 1, loss);
    tc_log_loss("pretrain", s + 1, loss, expected_losses ? &expected_losses[s] : NULL);
    if (expected_losses && !tc_check_loss(loss, expected_losses[s], LOSS_TOL, &worst_loss_error,
                                          "pretrain step %d", s + 1))
      return 0;
    if (s == 0 && expected_grads &&
        !check_grads("pretrain", grads, expected_grads, kPretrainParams,
                     sizeof kPretrainParams / sizeof kPretrainParams[0]))
      return 0;
  }
  return 1;
}

/* Node classification: step 1 in halves, then CLASSIFY_STEPS - 1 whole steps. */
static int classify(gcn_model *model, const graph *g, const float *expected_grads,
                    const float *expected_losses) {
  float *grads = fx_alloc(GCN_CLASSIFY_NUM_GRADS, sizeof *grads);
  if (!grads)
    return 0;
  for (int s = 0; s < CLASSIFY_STEPS; ++s) {
    float loss = 0.0f;
    int status;
    if (s == 0) {
      status = gcn_classify_grads(model, (int64_t)g->n, (int64_t)g->e, g->x, g->edges, g->y,
                                  g->mask, &loss, grads);
      if (status == GCN_OK)
        status = gcn_classify_apply(model, CLASSIFY_LR, grads);
    } else {
      status = gcn_classify(model, CLASSIFY_LR, (int64_t)g->n, (int64_t)g->e, g->x, g->edges, g->y,
                            g->mask, &loss);
    }
    if (status != GCN_OK) {
      fprintf(stderr, "error: classify step %d failed (status %d): %s\n", s + 1, status,
              gcn_last_error(model));
      return 0;
    }
    if (s == 0)
      printf("classify step   1: loss %.4f (gcn_classify_grads + gcn_classify_apply)\n", loss);
    else if ((s + 1) % 20 == 0)
      printf("classify step %3d: loss %.4f\n", s + 1, loss);
    tc_log_loss("classify", s + 1, loss, expected_losses ? &expected_losses[s] : NULL);
    if (expected_losses && !tc_check_loss(loss, expected_losses[s], LOSS_TOL, &worst_loss_error,
                                          "classify step %d", s + 1))
      return 0;
    if (s == 0 && expected_grads &&
        !check_grads("classify", grads, expected_grads, kClassifyParams,
                     sizeof kClassifyParams / sizeof kClassifyParams[0]))
      return 0;
  }
  return 1;
}

TC_DEFINE_SAVE_AND_READ(save_and_read, gcn)

/* The tensors whose names start with `prefix` are bit-identical in two files. */
static int unchanged(const char *prefix, const unsigned char *before, size_t before_size,
                     const unsigned char *after, size_t after_size, const char *phase) {
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    if (strncmp(kParams[p].name, prefix, strlen(prefix)) != 0)
      continue;
    const float *a = tc_tensor_in(before, before_size, kParams[p].name, kParams[p].numel);
    const float *b = tc_tensor_in(after, after_size, kParams[p].name, kParams[p].numel);
    if (!a || !b) {
      fprintf(stderr, "check: %s missing from a weights file\n", kParams[p].name);
      return 0;
    }
    if (memcmp(a, b, kParams[p].numel * sizeof *a) != 0) {
      fprintf(stderr, "check: untrained %s changed during %s\n", kParams[p].name, phase);
      return 0;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  int check = 0;
  if (tc_parse_args(argc, argv, &check) != 0)
    return 2;
  const char *init_path = argv[1], *data = argv[2], *out = argv[3];
  if (tc_log_open(out) != 0)
    return 1;
  int ok = 0;
  gcn_model *model = NULL;

  graph g;
  size_t n_y = 0, n_mask = 0;
  g.x = fx_read_rows(data, "train.x.f32", FEATURES * sizeof(float), &g.n);
  g.edges = fx_read_rows(data, "train.edge_index.i64", 2 * sizeof(int64_t), &g.e);
  g.y = fx_read_rows(data, "train.y.i64", sizeof(int64_t), &n_y);
  g.mask = fx_read_rows(data, "train.mask.bool", 1, &n_mask);
  if (!g.x || !g.edges || !g.y || !g.mask)
    goto done;
  if (n_y != g.n || n_mask != g.n) {
    fprintf(stderr, "error: %zu nodes, but %zu labels and %zu mask entries\n", g.n, n_y, n_mask);
    goto done;
  }
  if (!fx_check_ids("train.edge_index", g.edges, 2 * g.e, (int64_t)g.n) ||
      !fx_check_ids("train.y", g.y, g.n, (int64_t)CLASSES))
    goto done;
  size_t labelled = 0;
  for (size_t i = 0; i < g.n; ++i)
    labelled += g.mask[i] != 0;
  if (labelled == 0 || labelled == g.n) {
    fprintf(stderr, "error: train.mask.bool must label some nodes and leave some out\n");
    goto done;
  }
  uint8_t *held_out = fx_alloc(g.n, 1);
  float *logits = fx_alloc(g.n * CLASSES, sizeof *logits);
  size_t init_size = 0;
  const unsigned char *init = tc_read_path(init_path, &init_size);
  if (!held_out || !logits || !init)
    goto done;
  for (size_t i = 0; i < g.n; ++i)
    held_out[i] = g.mask[i] == 0;

  const float *pretrain_grads = NULL, *pretrain_losses = NULL, *classify_grads = NULL,
              *classify_losses = NULL, *final_logits = NULL, *final_heldout_loss = NULL;
  size_t reference_size = 0;
  const unsigned char *reference = NULL;
  if (check) {
    pretrain_grads = fx_read_f32(data, "train.pretrain_grads.f32", GCN_PRETRAIN_NUM_GRADS);
    pretrain_losses = fx_read_f32(data, "train.pretrain_losses.f32", PRETRAIN_STEPS);
    classify_grads = fx_read_f32(data, "train.classify_grads.f32", GCN_CLASSIFY_NUM_GRADS);
    classify_losses = fx_read_f32(data, "train.classify_losses.f32", CLASSIFY_STEPS);
    final_logits = fx_read_f32(data, "train.final_logits.f32", g.n * CLASSES);
    final_heldout_loss = fx_read_f32(data, "train.final_heldout_loss.f32", 1);
    reference = fx_keep(fx_read_whole(data, "train.trained.safetensors", &reference_size));
    if (!pretrain_grads || !pretrain_losses || !classify_grads || !classify_losses ||
        !final_logits || !final_heldout_loss || !reference)
      goto done;
  }
  if (gcn_create(init_path, NULL, &model) != GCN_OK) {
    fprintf(stderr, "error: create: %s\n", gcn_last_error(NULL));
    model = NULL;
    goto done;
  }
  printf("graph: %zu nodes, %zu edges, %zu labelled\n", g.n, g.e, labelled);

  if (!pretrain(model, &g, pretrain_grads, pretrain_losses))
    goto done;
  size_t pretrained_size = 0, trained_size = 0;
  const unsigned char *pretrained =
      save_and_read(model, out, "pretrained.safetensors", &pretrained_size);
  if (!pretrained || !classify(model, &g, classify_grads, classify_losses))
    goto done;
  const unsigned char *trained = save_and_read(model, out, "trained.safetensors", &trained_size);
  if (!trained)
    goto done;

  float heldout_loss = 0.0f;
  FX_CALL("gcn_forward", gcn_forward(model, (int64_t)g.n, (int64_t)g.e, g.x, g.edges, logits),
          gcn_last_error(model));
  FX_CALL(
      "gcn_node_loss",
      gcn_node_loss(model, (int64_t)g.n, (int64_t)g.e, g.x, g.edges, g.y, held_out, &heldout_loss),
      gcn_last_error(model));
  int correct = 0;
  for (size_t i = 0; i < g.n; ++i)
    correct += held_out[i] && sampling_argmax(logits + i * CLASSES, (int64_t)CLASSES) == g.y[i];
  printf("held-out nodes: accuracy %d of %zu, loss %.4f\n", correct, g.n - labelled, heldout_loss);

  if (check) {
    double worst_logit = 0.0, worst_weight = 0.0;
    for (size_t i = 0; i < g.n * CLASSES; ++i) {
      double rel = fabs((double)logits[i] - final_logits[i]) / fabs((double)final_logits[i]);
      if (rel > worst_logit)
        worst_logit = rel;
      if (!tc_close_to(logits[i], final_logits[i], FINAL_REL_TOL, FINAL_ABS_TOL)) {
        fprintf(stderr, "check: final logit [%zu][%zu]: %.7g, reference %.7g\n", i / CLASSES,
                i % CLASSES, logits[i], final_logits[i]);
        goto done;
      }
    }
    if (!tc_close_to(heldout_loss, final_heldout_loss[0], FINAL_REL_TOL, 0.0)) {
      fprintf(stderr, "check: held-out loss %.7g, reference %.7g\n", heldout_loss,
              final_heldout_loss[0]);
      goto done;
    }
    if (!unchanged("conv2.", init, init_size, pretrained, pretrained_size, "pre-training") ||
        !unchanged("projection.", pretrained, pretrained_size, trained, trained_size,
                   "classification"))
      goto done;
    for (size_t p = 0; p < NUM_PARAMS; ++p) {
      const float *after = tc_tensor_in(trained, trained_size, kParams[p].name, kParams[p].numel);
      const float *expected =
          tc_tensor_in(reference, reference_size, kParams[p].name, kParams[p].numel);
      if (!after || !expected) {
        fprintf(stderr, "check: %s missing from a weights file\n", kParams[p].name);
        goto done;
      }
      /* Adam normalizes each update, so a weight whose gradients hover near
       * zero can move by a few steps' worth: compare whole tensors. */
      if (!tc_check_l2(after, expected, kParams[p].numel, FINAL_REL_TOL, &worst_weight,
                       "trained %s", kParams[p].name))
        goto done;
    }
    printf("check: %d losses (worst relative error %.2g), step 1 gradients (worst %.2g), final "
           "logits (worst %.2g), held-out loss and trained weights (worst %.2g) match the "
           "reference; conv2 stayed untouched by pretrain, projection by classify\n",
           PRETRAIN_STEPS + CLASSIFY_STEPS, worst_loss_error, worst_grad_error, worst_logit,
           worst_weight);
  }
  ok = 1;
done:
  if (tc_log_close() != 0)
    ok = 0;
  gcn_destroy(model);
  fx_free_all();
  return ok ? 0 : 1;
}

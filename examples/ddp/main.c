/* ddp: data-parallel training of the Kiln-compiled digits MLP
 * (examples/mlp/mlp.kiln) across MPI processes, checked against a
 * single-process run of the same schedule.
 *
 *   mpirun -np 2 ddp INIT.safetensors DATA_DIR OUT_DIR
 *
 * Every rank loads INIT and trains it with both train entries: `fit` (SGD,
 * momentum 0.9, lr 0.3) for 30 steps, then `finetune` (AdamW, fc1 frozen,
 * gradients clipped to norm 1, lr 3e-3) for 20 steps. Each step has a global
 * batch of 64 digits, rows (64 k + j) mod 240 of DATA_DIR/test_x.f32; rank r of
 * N takes the 64 / N rows j = (64 / N) r .. (64 / N)(r + 1) - 1 of it, runs
 * mlp_<entry>_grads on them, all-reduces (sums) the loss and the gradient buffer,
 * divides by N and applies the average with mlp_<entry>_apply. The mean loss
 * over the global batch is the average of the shards' means, so the averaged
 * gradients are the full batch's, up to rounding.
 *
 * Rank 0 also runs the same schedule in one process on the whole global batch,
 * with a second model handle and mlp_fit / mlp_finetune. At the end every rank
 * saves its weights (OUT_DIR/ddp.rank<r>.safetensors; rank 0 also
 * OUT_DIR/single.safetensors) and rank 0 the data-parallel losses as
 * OUT_DIR/losses.csv; rank 0 checks that every rank's file is
 * byte-for-byte its own (all ranks hold the same weights) and that every
 * parameter of the data-parallel run matches the single-process run within
 * float32 rounding, |a - b| <= 1e-5 + 1.3e-6 |b| (torch.testing.assert_close's
 * float32 tolerances; README.md says why not tighter). It prints the losses
 * every 10 steps, the held-out accuracy (rows 240..299) and the verdict.
 *
 * Exit status: 0 ok, 1 error or mismatch, 2 usage (rank 0's; an error on
 * another rank aborts the job).
 */
#include "mlp.h"

#include "../common/fixture.h"
#include "../common/train_check.h"

#include <mpi.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_ROWS 300
#define NUM_TRAIN 240
#define NUM_HELD_OUT (NUM_ROWS - NUM_TRAIN)
#define GLOBAL_BATCH 64
#define FEATURES ((size_t)MLP_FIT_X_DIM1)
#define CLASSES ((size_t)MLP_PREDICT_OUT_DIM1)
/* A parameter matches when |a - b| <= ABS_TOL + REL_TOL |b|. */
#define ABS_TOL 1e-5
#define REL_TOL 1.3e-6

/* The parameters, in the order mlp.h lists them (that of fit's gradients). */
static const struct {
  const char *name;
  size_t numel;
} kParams[] = {{"fc1.weight", 128 * 64}, {"fc1.bias", 128},       {"fc2.weight", 64 * 128},
               {"fc2.bias", 64},         {"fc3.weight", 10 * 64}, {"fc3.bias", 10}};
#define NUM_PARAMS (sizeof kParams / sizeof kParams[0])
_Static_assert(NUM_PARAMS == MLP_NUM_PARAMS, "mlp.h has another parameter list");
_Static_assert(128 * 64 + 128 + 64 * 128 + 64 + 10 * 64 + 10 == MLP_FIT_NUM_GRADS,
               "fit trains every parameter");

/* A train entry and its schedule. */
typedef int (*grads_fn)(mlp_model *, int64_t, const float *, const int64_t *, float *, float *);
typedef int (*apply_fn)(mlp_model *, float, const float *);
typedef int (*step_fn)(mlp_model *, float, int64_t, const float *, const int64_t *, float *);
static const struct {
  const char *name;
  grads_fn grads;
  apply_fn apply;
  step_fn step;
  size_t num_grads;
  int steps;
  float lr;
} kPhases[] = {
    {"fit", mlp_fit_grads, mlp_fit_apply, mlp_fit, MLP_FIT_NUM_GRADS, 30, 0.3f},
    {"finetune", mlp_finetune_grads, mlp_finetune_apply, mlp_finetune, MLP_FINETUNE_NUM_GRADS, 20,
     3e-3f},
};
#define NUM_PHASES (sizeof kPhases / sizeof kPhases[0])

static int rank = 0, num_ranks = 1;

/* Prints the error and ends the whole job (the other ranks would wait forever
 * in the next all-reduce). */
static void die(const char *what, int status, const char *detail) {
  fprintf(stderr, "error: rank %d: %s (status %d): %s\n", rank, what, status, detail);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

/* Rows [first, first + count) of global batch `step`: rows (GLOBAL_BATCH * step + j)
 * mod NUM_TRAIN of the data, for j = first .. first + count - 1. */
static void gather_rows(const float *x, const int64_t *y, int step, int first, int count,
                        float *bx, int64_t *by) {
  size_t from = (size_t)GLOBAL_BATCH * (size_t)step + (size_t)first;
  tc_gather_rows(bx, x, FEATURES * sizeof *x, NUM_TRAIN, from, (size_t)count);
  tc_gather_rows(by, y, sizeof *y, NUM_TRAIN, from, (size_t)count);
}

static unsigned char *save_and_read(mlp_model *model, const char *dir, const char *name,
                                    size_t *size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int status = mlp_save_weights(model, path);
  if (status != MLP_OK)
    die("saving weights", status, mlp_last_error(model));
  unsigned char *bytes = fx_keep(fx_read_whole(dir, name, size));
  if (!bytes)
    die("reading back the saved weights", MLP_ERROR_IO, path);
  return bytes;
}

/* Rank 0: 1 if every other rank's saved file is byte-for-byte `mine`. Every rank
 * calls it; the others send their file. */
static int same_on_every_rank(const unsigned char *mine, size_t size) {
  unsigned long long my_size = size;
  unsigned long long *sizes = rank == 0 ? fx_alloc((size_t)num_ranks, sizeof *sizes) : NULL;
  if (rank == 0 && !sizes)
    die("gathering file sizes", MLP_ERROR_OUT_OF_MEMORY, "out of memory");
  MPI_Gather(&my_size, 1, MPI_UNSIGNED_LONG_LONG, sizes, 1, MPI_UNSIGNED_LONG_LONG, 0,
             MPI_COMM_WORLD);
  if (rank != 0) {
    MPI_Send(mine, (int)size, MPI_UNSIGNED_CHAR, 0, 0, MPI_COMM_WORLD);
    return 1;
  }
  int same = 1;
  unsigned char *theirs = fx_alloc(size, 1);
  for (int r = 1; r < num_ranks; ++r) {
    unsigned char *buffer = sizes[r] == size ? theirs : fx_alloc((size_t)sizes[r], 1);
    if (!buffer)
      die("receiving saved weights", MLP_ERROR_OUT_OF_MEMORY, "out of memory");
    MPI_Recv(buffer, (int)sizes[r], MPI_UNSIGNED_CHAR, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (sizes[r] != size || memcmp(buffer, mine, size) != 0) {
      fprintf(stderr, "check: rank %d's weights differ from rank 0's\n", r);
      same = 0;
    }
  }
  return same;
}

/* How the data-parallel weights differ from the single-process ones. */
typedef struct comparison {
  size_t compared, bad;
  double worst_abs;       /* the largest |a - b| */
  const char *worst_name; /* where */
  size_t worst_index;
  double worst_l2; /* the largest ||a - b|| / ||b|| of a tensor */
} comparison;

/* Rank 0: compares every parameter of the two saved files, printing the first
 * mismatch of each tensor; 1 if all match. */
static int compare_params(const unsigned char *ddp, size_t ddp_size, const unsigned char *single,
                          size_t single_size, comparison *c) {
  memset(c, 0, sizeof *c);
  for (size_t p = 0; p < NUM_PARAMS; ++p) {
    const float *a = tc_tensor_in(ddp, ddp_size, kParams[p].name, kParams[p].numel);
    const float *b = tc_tensor_in(single, single_size, kParams[p].name, kParams[p].numel);
    if (!a || !b) {
      fprintf(stderr, "check: %s is missing from a saved file\n", kParams[p].name);
      return 0;
    }
    size_t tensor_bad = 0;
    for (size_t i = 0; i < kParams[p].numel; ++i) {
      double diff = fabs((double)a[i] - (double)b[i]);
      if (diff > c->worst_abs || diff != diff) {
        c->worst_abs = diff != diff ? INFINITY : diff;
        c->worst_name = kParams[p].name;
        c->worst_index = i;
      }
      if (!(diff <= ABS_TOL + REL_TOL * fabs((double)b[i])) && tensor_bad++ == 0)
        fprintf(stderr, "check: %s[%zu]: data-parallel %.9g, single-process %.9g\n",
                kParams[p].name, i, (double)a[i], (double)b[i]);
    }
    tc_keep_worst(&c->worst_l2, tc_relative_l2(a, b, kParams[p].numel));
    if (tensor_bad)
      fprintf(stderr, "check: %s: %zu of %zu values differ\n", kParams[p].name, tensor_bad,
              kParams[p].numel);
    c->bad += tensor_bad;
    c->compared += kParams[p].numel;
  }
  return c->bad == 0;
}

static int held_out_correct(mlp_model *model, const float *x, const int64_t *y, float *probs) {
  int status = mlp_predict(model, NUM_HELD_OUT, x + NUM_TRAIN * FEATURES, probs);
  if (status != MLP_OK)
    die("predict", status, mlp_last_error(model));
  int correct = 0;
  for (size_t i = 0; i < NUM_HELD_OUT; ++i)
    correct += sampling_argmax(probs + i * CLASSES, (int64_t)CLASSES) == y[NUM_TRAIN + i];
  return correct;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &num_ranks);
  if (argc != 4) {
    if (rank == 0)
      fprintf(stderr, "usage: mpirun -np N %s INIT.safetensors DATA_DIR OUT_DIR\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  if (GLOBAL_BATCH % num_ranks != 0) {
    if (rank == 0)
      fprintf(stderr, "error: %d processes do not divide the global batch of %d\n", num_ranks,
              GLOBAL_BATCH);
    MPI_Finalize();
    return 2;
  }
  const char *init = argv[1], *data = argv[2], *out = argv[3];
  const int shard = GLOBAL_BATCH / num_ranks;
  /* Rank 0 logs the data-parallel losses (no PyTorch reference here). */
  if (rank == 0 && tc_log_open(out) != 0)
    die("opening the loss log", MLP_ERROR_IO, out);

  const float *x = fx_read_f32(data, "test_x.f32", NUM_ROWS * FEATURES);
  const int64_t *y = fx_read_i64(data, "test_y.i64", NUM_ROWS);
  float *bx = fx_alloc((size_t)GLOBAL_BATCH * FEATURES, sizeof *bx);
  int64_t *by = fx_alloc(GLOBAL_BATCH, sizeof *by);
  float *grads = fx_alloc(MLP_FIT_NUM_GRADS, sizeof *grads);
  float *probs = fx_alloc(NUM_HELD_OUT * CLASSES, sizeof *probs);
  if (!x || !y || !bx || !by || !grads || !probs)
    die("reading the data", MLP_ERROR_IO, data);

  /* One thread per process: the ranks share the machine's cores. */
  const mlp_options options = {.num_threads = 1};
  mlp_model *model = NULL, *single = NULL;
  int status = mlp_create(init, &options, &model);
  if (status == MLP_OK && rank == 0)
    status = mlp_create(init, &options, &single);
  if (status != MLP_OK)
    die("create", status, mlp_last_error(NULL));
  if (rank == 0)
    printf("ddp: %d processes, global batch %d (%d rows each)\n", num_ranks, GLOBAL_BATCH, shard);

  int global_step = 0;
  for (size_t phase = 0; phase < NUM_PHASES; ++phase) {
    const char *name = kPhases[phase].name;
    float lr = kPhases[phase].lr;
    for (int s = 0; s < kPhases[phase].steps; ++s, ++global_step) {
      /* Data-parallel: this rank's shard, then the averaged update. */
      gather_rows(x, y, global_step, shard * rank, shard, bx, by);
      float loss = 0.0f;
      status = kPhases[phase].grads(model, shard, bx, by, &loss, grads);
      if (status != MLP_OK)
        die(name, status, mlp_last_error(model));
      MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      MPI_Allreduce(MPI_IN_PLACE, grads, (int)kPhases[phase].num_grads, MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      loss /= (float)num_ranks;
      for (size_t i = 0; i < kPhases[phase].num_grads; ++i)
        grads[i] /= (float)num_ranks;
      status = kPhases[phase].apply(model, lr, grads);
      if (status != MLP_OK)
        die(name, status, mlp_last_error(model));
      if (rank != 0)
        continue;
      tc_log_loss(name, s + 1, loss, NULL);

      /* Single process: the whole global batch, one step. */
      gather_rows(x, y, global_step, 0, GLOBAL_BATCH, bx, by);
      float single_loss = 0.0f;
      status = kPhases[phase].step(single, lr, GLOBAL_BATCH, bx, by, &single_loss);
      if (status != MLP_OK)
        die(name, status, mlp_last_error(single));
      if (s == 0 || (s + 1) % 10 == 0)
        printf("%s step %2d: loss %.4f (single process %.4f)\n", name, s + 1, loss, single_loss);
    }
  }

  char mine[64];
  snprintf(mine, sizeof mine, "ddp.rank%d.safetensors", rank);
  size_t ddp_size = 0, single_size = 0;
  const unsigned char *ddp_file = save_and_read(model, out, mine, &ddp_size);
  int ok = same_on_every_rank(ddp_file, ddp_size);
  if (rank == 0) {
    const unsigned char *single_file = save_and_read(single, out, "single.safetensors",
                                                     &single_size);
    if (ok && num_ranks > 1)
      printf("ddp: the %d ranks' weights are bit-identical\n", num_ranks);
    comparison c;
    int match = compare_params(ddp_file, ddp_size, single_file, single_size, &c);
    printf("held-out accuracy: data-parallel %d of %d, single process %d of %d\n",
           held_out_correct(model, x, y, probs), NUM_HELD_OUT,
           held_out_correct(single, x, y, probs), NUM_HELD_OUT);
    if (c.worst_name)
      printf("difference: worst |a - b| %.2g (%s[%zu]), worst relative L2 of a tensor %.2g\n",
             c.worst_abs, c.worst_name, c.worst_index, c.worst_l2);
    if (match)
      printf("ddp: %zu parameters match the single-process run (|a - b| <= %g + %g |b|)\n",
             c.compared, ABS_TOL, REL_TOL);
    else
      ok = 0;
  }
  if (tc_log_close() != 0)
    ok = 0;
  mlp_destroy(single);
  mlp_destroy(model);
  fx_free_all();
  MPI_Finalize();
  return ok ? 0 : 1;
}

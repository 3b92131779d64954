/* concurrency: one model handle used from several threads at once gives, call
 * for call, the bytes a lone thread gets (docs/abi.md: "a model handle is safe
 * to use from several threads"). Built once per model, with -DCONC_MLP
 * (examples/mlp: predict, loss) or -DCONC_CLIP (examples/clip: encode_image,
 * encode_text, classify) and the generated header on the include path.
 *
 *   concurrency WEIGHTS [--calls N] [--default-calls N] [--cycles N] [--corrupt]
 *
 * 1. On a handle with num_threads = 1, every inference entry runs once on each
 *    of NUM_INPUTS distinct inputs (deterministic, from an LCG; several batch
 *    sizes): the serial results.
 * 2. A fresh handle with num_threads = 1 is shared by NUM_THREADS threads, each
 *    making --calls (1000) rounds of one call of every entry, cycling through
 *    the inputs (each thread from its own starting input), into its own output
 *    buffers, poisoned before each call; every result must equal the serial one
 *    byte for byte (memcmp) and every status must be OK.
 * 3. The same with num_threads = 0 (the default: one per CPU) and
 *    --default-calls rounds (1000), against serial results of such a handle.
 * 4. NUM_THREADS threads each create a handle of the same weights file, make
 *    one call and destroy it, --cycles (50) times, checked like (2).
 *
 * One summary line per phase; exit status 0 when every call matched, 1 on a
 * mismatch, a failed status or a failed create, 2 on bad usage. --corrupt flips
 * the lowest bit of one serial result (the last entry's, first input) to show
 * that a one-ulp difference is caught. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NUM_THREADS
#define NUM_THREADS 8 /* -DNUM_THREADS=N to narrow a failure down */
#endif
#define NUM_INPUTS 4
#define MAX_REPORTED 5 /* mismatches printed in detail, per phase */

/* A 64-bit LCG (Knuth's MMIX constants); the high bits are the output. */
static uint64_t lcg_state = 0x4b696c6e; /* "Kiln" */
static uint32_t lcg_next(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(lcg_state >> 33);
}
/* Uniform in [lo, hi). */
static float lcg_float(float lo, float hi) {
  return lo + (hi - lo) * (float)(lcg_next() & 0xffffff) / (float)0x1000000;
}

/* ---- The model: its type, create/destroy, entries and inputs. ---- */

#if defined(CONC_MLP)
#include "mlp.h"

#define MODEL_NAME "mlp"
typedef mlp_model model_t;
typedef mlp_options options_t;
#define MODEL_OK MLP_OK
#define model_create mlp_create
#define model_destroy mlp_destroy
#define model_last_error mlp_last_error

#define NUM_ENTRIES 2
static const char *const entry_names[NUM_ENTRIES] = {"predict", "loss"};
#define MAX_B 4
#define MAX_OUT ((size_t)MLP_PREDICT_OUT_NUMEL(MAX_B))
_Static_assert(MLP_LOSS_OUT_NUMEL <= MAX_OUT, "MAX_OUT holds every output");

/* Input k has k + 1 rows. */
static float in_x[NUM_INPUTS][MLP_PREDICT_X_NUMEL(MAX_B)];
static int64_t in_y[NUM_INPUTS][MAX_B];

static int64_t batch_of(int k) { return k + 1; }

static void make_inputs(void) {
  for (int k = 0; k < NUM_INPUTS; ++k) {
    for (size_t i = 0; i < MLP_PREDICT_X_NUMEL(batch_of(k)); ++i)
      in_x[k][i] = lcg_float(0.0f, 16.0f); /* the digits' pixel range */
    for (int64_t b = 0; b < batch_of(k); ++b)
      in_y[k][b] = (int64_t)(lcg_next() % MLP_LOSS_Y_CLASSES);
  }
}

static size_t out_numel(int entry, int k) {
  return entry == 0 ? MLP_PREDICT_OUT_NUMEL(batch_of(k)) : MLP_LOSS_OUT_NUMEL;
}

static int call_entry(model_t *m, int entry, int k, float *out) {
  if (entry == 0)
    return mlp_predict(m, batch_of(k), in_x[k], out);
  return mlp_loss(m, batch_of(k), in_x[k], in_y[k], out);
}

#elif defined(CONC_CLIP)
#include "clip.h"

#define MODEL_NAME "clip"
typedef clip_model model_t;
typedef clip_options options_t;
#define MODEL_OK CLIP_OK
#define model_create clip_create
#define model_destroy clip_destroy
#define model_last_error clip_last_error

#define NUM_ENTRIES 3
static const char *const entry_names[NUM_ENTRIES] = {"encode_image", "encode_text", "classify"};
#define MAX_B 2 /* images */
#define MAX_N 3 /* prompts (at least 2: a softmax over one is 1 whatever the logits) */
#define CONTEXT CLIP_ENCODE_TEXT_TOKENS_DIM1
#define VOCAB 64
#define EOT 63
#define MAX_OUT ((size_t)CLIP_ENCODE_TEXT_OUT_NUMEL(MAX_N)) /* the largest output */
_Static_assert(CLIP_ENCODE_IMAGE_OUT_NUMEL(MAX_B) <= MAX_OUT &&
                   CLIP_CLASSIFY_OUT_NUMEL(MAX_B, MAX_N) <= MAX_OUT,
               "MAX_OUT holds every output");

/* Input k has batch_of(k) images and prompts_of(k) prompts: (1, 2), (2, 2), (1, 3), (2, 3). */
static float in_images[NUM_INPUTS][CLIP_ENCODE_IMAGE_IMAGES_NUMEL(MAX_B)];
static int64_t in_tokens[NUM_INPUTS][CLIP_ENCODE_TEXT_TOKENS_NUMEL(MAX_N)];

static int64_t batch_of(int k) { return 1 + k % 2; }
static int64_t prompts_of(int k) { return 2 + k / 2; }

static void make_inputs(void) {
  for (int k = 0; k < NUM_INPUTS; ++k) {
    for (size_t i = 0; i < CLIP_ENCODE_IMAGE_IMAGES_NUMEL(batch_of(k)); ++i)
      in_images[k][i] = lcg_float(0.0f, 1.0f);
    /* A prompt: 2 to 8 words (ids 1..62), the end-of-text token, then 0s. */
    for (int64_t n = 0; n < prompts_of(k); ++n) {
      int64_t *row = in_tokens[k] + n * CONTEXT;
      int words = 2 + (int)(lcg_next() % 7);
      for (int i = 0; i < CONTEXT; ++i)
        row[i] = i < words ? 1 + (int64_t)(lcg_next() % (EOT - 1)) : i == words ? EOT : 0;
    }
  }
}

static size_t out_numel(int entry, int k) {
  switch (entry) {
  case 0:
    return CLIP_ENCODE_IMAGE_OUT_NUMEL(batch_of(k));
  case 1:
    return CLIP_ENCODE_TEXT_OUT_NUMEL(prompts_of(k));
  default:
    return CLIP_CLASSIFY_OUT_NUMEL(batch_of(k), prompts_of(k));
  }
}

static int call_entry(model_t *m, int entry, int k, float *out) {
  switch (entry) {
  case 0:
    return clip_encode_image(m, batch_of(k), in_images[k], out);
  case 1:
    return clip_encode_text(m, prompts_of(k), in_tokens[k], out);
  default:
    return clip_classify(m, batch_of(k), prompts_of(k), in_images[k], in_tokens[k], out);
  }
}

#else
#error "define CONC_MLP or CONC_CLIP"
#endif

/* ---- The harness. ---- */

static const char *weights_path;

/* A phase's serial results: ref[entry][input]. */
typedef struct reference {
  float out[NUM_ENTRIES][NUM_INPUTS][MAX_OUT];
} reference;

/* What one thread saw. */
typedef struct tally {
  long calls, mismatches, failures;
} tally;

typedef struct job {
  int thread;
  model_t *model; /* shared (phases 2, 3); NULL: create one per cycle (phase 4) */
  const options_t *options;
  long rounds;
  const reference *ref;
  atomic_int *reported;
  tally result;
} job;

/* Runs entry on input k into out (poisoned first) and compares it with the
 * reference; counts and reports a failed status or a difference. */
static void check_call(job *j, model_t *m, int entry, int k, float *out) {
  size_t bytes = out_numel(entry, k) * sizeof(float);
  memset(out, 0xa5, bytes);
  int status = call_entry(m, entry, k, out);
  ++j->result.calls;
  if (status != MODEL_OK) {
    ++j->result.failures;
    if (atomic_fetch_add(j->reported, 1) < MAX_REPORTED)
      fprintf(stderr, "thread %d: %s_%s on input %d: status %d: %s\n", j->thread, MODEL_NAME,
              entry_names[entry], k, status, model_last_error(m));
    return;
  }
  const float *want = j->ref->out[entry][k];
  if (memcmp(out, want, bytes) == 0)
    return;
  ++j->result.mismatches;
  if (atomic_fetch_add(j->reported, 1) < MAX_REPORTED) {
    size_t i = 0;
    while (memcmp(&out[i], &want[i], sizeof(float)) == 0)
      ++i;
    fprintf(stderr, "thread %d: %s_%s on input %d: element %zu is %.9g, serially %.9g\n",
            j->thread, MODEL_NAME, entry_names[entry], k, i, (double)out[i], (double)want[i]);
  }
}

/* Phases 2 and 3: rounds of every entry on the shared handle. */
static void *shared_worker(void *arg) {
  job *j = arg;
  float out[NUM_ENTRIES][MAX_OUT];
  for (long r = 0; r < j->rounds; ++r) {
    int k = (int)((j->thread + r) % NUM_INPUTS);
    for (int e = 0; e < NUM_ENTRIES; ++e)
      check_call(j, j->model, e, k, out[e]);
  }
  return NULL;
}

/* Phase 4: create, one call, destroy; cycle c runs entry c % NUM_ENTRIES on
 * input (c / NUM_ENTRIES) % NUM_INPUTS, c counted across the threads. */
static void *create_worker(void *arg) {
  job *j = arg;
  float out[MAX_OUT];
  for (long r = 0; r < j->rounds; ++r) {
    long c = j->thread * j->rounds + r;
    int entry = (int)(c % NUM_ENTRIES), k = (int)(c / NUM_ENTRIES % NUM_INPUTS);
    model_t *m = NULL;
    int status = model_create(weights_path, j->options, &m);
    if (status != MODEL_OK) {
      ++j->result.failures;
      if (atomic_fetch_add(j->reported, 1) < MAX_REPORTED)
        fprintf(stderr, "thread %d: %s_create: status %d: %s\n", j->thread, MODEL_NAME, status,
                model_last_error(NULL));
      continue;
    }
    check_call(j, m, entry, k, out);
    model_destroy(m);
  }
  return NULL;
}

/* Runs fn on NUM_THREADS threads; returns the summed tallies, or -1 calls when
 * a thread could not start. */
static tally run_threads(void *(*fn)(void *), model_t *shared, const options_t *options,
                         long rounds, const reference *ref) {
  job jobs[NUM_THREADS];
  pthread_t threads[NUM_THREADS];
  atomic_int reported = 0;
  tally sum = {0, 0, 0};
  int started = 0;
  for (int t = 0; t < NUM_THREADS; ++t) {
    jobs[t] = (job){t, shared, options, rounds, ref, &reported, {0, 0, 0}};
    if (pthread_create(&threads[t], NULL, fn, &jobs[t]) != 0) {
      fprintf(stderr, "error: cannot start thread %d\n", t);
      break;
    }
    ++started;
  }
  for (int t = 0; t < started; ++t) {
    pthread_join(threads[t], NULL);
    sum.calls += jobs[t].result.calls;
    sum.mismatches += jobs[t].result.mismatches;
    sum.failures += jobs[t].result.failures;
  }
  if (started < NUM_THREADS)
    sum.calls = -1;
  return sum;
}

static model_t *create_or_report(const options_t *options) {
  model_t *m = NULL;
  if (model_create(weights_path, options, &m) != MODEL_OK) {
    fprintf(stderr, "error: %s_create: %s\n", MODEL_NAME, model_last_error(NULL));
    return NULL;
  }
  return m;
}

/* The serial results of every entry on every input, on its own handle. */
static int compute_reference(const options_t *options, reference *ref) {
  model_t *m = create_or_report(options);
  if (!m)
    return 0;
  int ok = 1;
  for (int e = 0; e < NUM_ENTRIES && ok; ++e)
    for (int k = 0; k < NUM_INPUTS && ok; ++k) {
      int status = call_entry(m, e, k, ref->out[e][k]);
      if (status != MODEL_OK) {
        fprintf(stderr, "error: serial %s_%s on input %d: status %d: %s\n", MODEL_NAME,
                entry_names[e], k, status, model_last_error(m));
        ok = 0;
      }
    }
  model_destroy(m);
  return ok;
}

/* Prints a phase's summary line; returns whether it passed. */
static int report(const char *phase, const char *what, tally t) {
  int ok = t.calls >= 0 && t.mismatches == 0 && t.failures == 0;
  printf("%s%s: %d threads x %s, %ld calls, %ld mismatches, %ld failed%s\n", MODEL_NAME, phase,
         NUM_THREADS, what, t.calls, t.mismatches, t.failures, ok ? "" : "  FAILED");
  return ok;
}

/* A shared-handle phase: serial results, then NUM_THREADS threads on a fresh handle. */
static int shared_phase(const char *phase, int32_t num_threads, long rounds, int corrupt) {
  static reference ref;
  options_t options = {num_threads};
  if (!compute_reference(&options, &ref))
    return 0;
  if (corrupt) {
    unsigned char *byte = (unsigned char *)ref.out[NUM_ENTRIES - 1][0];
    *byte ^= 1; /* little-endian: the lowest mantissa bit of element 0 */
  }
  model_t *m = create_or_report(&options);
  if (!m)
    return 0;
  tally t = run_threads(shared_worker, m, &options, rounds, &ref);
  model_destroy(m);
  char what[96];
  snprintf(what, sizeof what, "%ld calls x %d entries", rounds, NUM_ENTRIES);
  return report(phase, what, t);
}

static int parse_count(const char *text, long *out) {
  char *end;
  long v = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 0)
    return 0;
  *out = v;
  return 1;
}

int main(int argc, char **argv) {
  long calls = 1000, default_calls = 1000, cycles = 50;
  int corrupt = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--corrupt") == 0) {
      corrupt = 1;
    } else if (i + 1 < argc && strcmp(argv[i], "--calls") == 0) {
      if (!parse_count(argv[++i], &calls))
        goto usage;
    } else if (i + 1 < argc && strcmp(argv[i], "--default-calls") == 0) {
      if (!parse_count(argv[++i], &default_calls))
        goto usage;
    } else if (i + 1 < argc && strcmp(argv[i], "--cycles") == 0) {
      if (!parse_count(argv[++i], &cycles))
        goto usage;
    } else if (argv[i][0] != '-' && !weights_path) {
      weights_path = argv[i];
    } else {
      goto usage;
    }
  }
  if (!weights_path)
    goto usage;

  setvbuf(stdout, NULL, _IOLBF, 0); /* each summary out before a later phase can crash */
  make_inputs();
  int ok = shared_phase("", 1, calls, corrupt);
  ok &= shared_phase(" (num_threads 0)", 0, default_calls, corrupt);

  static reference ref;
  options_t one = {1};
  if (!compute_reference(&one, &ref))
    return 1;
  if (corrupt)
    *(unsigned char *)ref.out[NUM_ENTRIES - 1][0] ^= 1;
  char what[96];
  snprintf(what, sizeof what, "%ld x (create, 1 call, destroy)", cycles);
  ok &= report(" create/destroy", what, run_threads(create_worker, NULL, &one, cycles, &ref));
  return ok ? 0 : 1;

usage:
  fprintf(stderr,
          "usage: %s WEIGHTS [--calls N] [--default-calls N] [--cycles N] [--corrupt]\n",
          argv[0]);
  return 2;
}

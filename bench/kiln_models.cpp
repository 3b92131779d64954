// Compiled once per variant with -DKILN_VARIANT=Unfused|Native|OneDNN|Auto and
// -DKILN_SFX=_unfused|_native|_onednn|_auto; kiln_headers.h (written by CMake)
// includes that variant's generated headers.
#include "kiln_models.h"

#include "kiln_headers.h"

#define KCAT_(a, b) a##b
#define KCAT(a, b) KCAT_(a, b)
// K(softmax_ce, create) -> softmax_ce_auto_create with KILN_SFX=_auto
#define K(stem, fn) KCAT(KCAT(stem, KILN_SFX), KCAT(_, fn))
#define KFN(v) KCAT(makeKiln, v)

namespace bench {

#define CREATE(stem, weights, var)                                                        \
  K(stem, model) *var = nullptr;                                                          \
  {                                                                                       \
    K(stem, options) opts{};                                                              \
    opts.num_threads = threads;                                                           \
    if (K(stem, create)(weights, &opts, &var) != 0) {                                     \
      m.error = std::string(#stem ": ") + K(stem, last_error)(nullptr);                   \
      return m;                                                                           \
    }                                                                                     \
    m.handles.emplace_back(var, [](void *p) { K(stem, destroy)((K(stem, model) *)p); });  \
  }

KilnModels KFN(KILN_VARIANT)(int threads, const char *clipWeights, const char *noWeights) {
  KilnModels m;
  m.variant = KILN_VARIANT_NAME;
  m.compiler = KILN_VARIANT_DESC;
  CREATE(softmax_ce, noWeights, ce)
  m.ceForward = [ce](const float *l, const int64_t *t, float *o) { return K(softmax_ce, forward)(ce, l, t, o); };
  m.ceFwdBwd = [ce](const float *l, const int64_t *t, float *loss, float *g) { return K(softmax_ce, fwd_bwd)(ce, l, t, loss, g); };

  CREATE(attention, noWeights, at)
  m.self256 = [at](const float *q, const float *k, const float *v, float *o) { return K(attention, self_256)(at, q, k, v, o); };
  m.causal256 = [at](const float *q, const float *k, const float *v, float *o) { return K(attention, causal_256)(at, q, k, v, o); };
  m.self1024 = [at](const float *q, const float *k, const float *v, float *o) { return K(attention, self_1024)(at, q, k, v, o); };
  m.causal1024 = [at](const float *q, const float *k, const float *v, float *o) { return K(attention, causal_1024)(at, q, k, v, o); };
  m.crossQformer = [at](const float *q, const float *k, const float *v, float *o) { return K(attention, cross_qformer)(at, q, k, v, o); };

  CREATE(projector, noWeights, pr)
  m.projMlp = [pr](const float *x, const float *w1, const float *b1, const float *w2, const float *b2, float *o) {
    return K(projector, mlp)(pr, x, w1, b1, w2, b2, o);
  };
  m.projBare = [pr](const float *x, const float *w1, const float *w2, float *o) { return K(projector, bare)(pr, x, w1, w2, o); };

  CREATE(clip, clipWeights, cl)
  m.clipEncodeImage = [cl](int64_t B, const float *im, float *o) { return K(clip, encode_image)(cl, B, im, o); };

  m.available = true;
  return m;
}

} // namespace bench

// kiln-bench: every workload of issue 4 in one process and one run, Kiln
// (kilnc-generated libraries) vs hand-written oneDNN primitive chains, at 1 and
// 2 pinned threads. See bench/README.md.
//
// Adding a workload: write its .kiln entry in bench/workloads/ (or reuse an
// example), add it to KILN_BENCH_SOURCES and to KilnModels (kiln_models.*), add
// a oneDNN chain in onednn/ if it has one, and push a Case in makeCases below.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "kiln_models.h"
#include "onednn/onednn.h"

extern "C" {
void omp_set_num_threads(int);
int omp_get_max_threads(void);
}

using namespace bench;

#ifndef KILN_BENCH_HAVE_FUSED
namespace bench {
KilnModels makeKilnFused(int, const char *, const char *) {
  KilnModels m;
  m.variant = "fused";
  m.error = "not built (configure with -DKILN_BENCH_FUSED=ON once kilnc fuses)";
  return m;
}
} // namespace bench
#endif

namespace {

// ---- shapes ----
constexpr int64_t CE_N = 2048, CE_C = 32000;
constexpr int64_t PJ_M = 576, PJ_K = 1024, PJ_N1 = 4096, PJ_N2 = 4096;

struct AttnShape {
  const char *name;
  int64_t B, H, S, T, D;
  bool causal;
};
const AttnShape kAttn[] = {
    {"self seq256", 1, 12, 256, 256, 64, false},
    {"causal seq256", 1, 12, 256, 256, 64, true},
    {"self seq1024", 1, 12, 1024, 1024, 64, false},
    {"causal seq1024", 1, 12, 1024, 1024, 64, true},
    {"qformer cross 4x32q x 257k", 4, 12, 32, 257, 64, false},
};

using Buf = std::vector<float>;

// Inputs (shared by every column) and one output buffer per column.
struct Data {
  // softmax-CE
  Buf logits;
  std::vector<int64_t> targets;
  double refLoss = 0; // plain C++ (double) mean cross-entropy
  Buf ceLoss[NumColumns], ceGrad[NumColumns];
  Buf dnnDst, dnnDiffDst; // oneDNN log-softmax dst; diff_dst = -one_hot(targets)
  // attention
  Buf q[5], k[5], v[5], attnOut[5][NumColumns];
  Buf attnRef[5]; // plain C++ (double) reference for the first and the last (batch, head)
  // projector
  Buf px, w1, b1, w2, b2, pOut[2][NumColumns]; // [0] mlp, [1] bare
  // clip
  Buf clipImages, clipRef, clipOut[2][NumColumns]; // [0] B=1, [1] B=8
};

bool readFile(const char *path, Buf &out, size_t n) {
  std::ifstream f(path, std::ios::binary);
  out.resize(n);
  return (bool)f.read(reinterpret_cast<char *>(out.data()), (std::streamsize)(n * sizeof(float)));
}

void prepareData(Data &d) {
  d.logits.resize((size_t)(CE_N * CE_C));
  fillUniform(d.logits, -4.f, 4.f, 1);
  d.targets.resize(CE_N);
  d.dnnDiffDst.assign(d.logits.size(), 0.f);
  for (int64_t i = 0; i < CE_N; ++i) {
    d.targets[i] = (i * 7919) % CE_C;
    d.dnnDiffDst[(size_t)(i * CE_C + d.targets[i])] = -1.f;
  }
  double sum = 0;
  for (int64_t i = 0; i < CE_N; ++i) {
    const float *row = &d.logits[(size_t)(i * CE_C)];
    double m = row[0], s = 0;
    for (int64_t j = 1; j < CE_C; ++j)
      m = std::max(m, (double)row[j]);
    for (int64_t j = 0; j < CE_C; ++j)
      s += std::exp((double)row[j] - m);
    sum += m + std::log(s) - row[d.targets[i]];
  }
  d.refLoss = sum / CE_N;
  d.dnnDst.resize(d.logits.size());
  for (int c = 0; c < NumColumns; ++c) {
    d.ceLoss[c].assign(1, 0.f);
    d.ceGrad[c].resize(d.logits.size());
  }
  for (int i = 0; i < 5; ++i) {
    const AttnShape &s = kAttn[i];
    d.q[i].resize((size_t)(s.B * s.H * s.S * s.D));
    d.k[i].resize((size_t)(s.B * s.H * s.T * s.D));
    d.v[i].resize((size_t)(s.B * s.H * s.T * s.D));
    fillUniform(d.q[i], -1.f, 1.f, 10 + i);
    fillUniform(d.k[i], -1.f, 1.f, 20 + i);
    fillUniform(d.v[i], -1.f, 1.f, 30 + i);
    for (int c = 0; c < NumColumns; ++c)
      d.attnOut[i][c].assign(d.q[i].size(), 0.f);
    d.attnRef[i].assign(d.q[i].size(), 0.f);
    int64_t BH = s.B * s.H;
    std::vector<double> p((size_t)s.T);
    for (int64_t h : {(int64_t)0, BH - 1})
      for (int64_t a = 0; a < s.S; ++a) {
        const float *qa = &d.q[i][(size_t)((h * s.S + a) * s.D)];
        double m = -INFINITY, sum = 0;
        for (int64_t b = 0; b < s.T; ++b) {
          const float *kb = &d.k[i][(size_t)((h * s.T + b) * s.D)];
          double dot = 0;
          for (int64_t e = 0; e < s.D; ++e)
            dot += (double)qa[e] * kb[e];
          p[b] = (s.causal && b > a) ? -INFINITY : dot / std::sqrt((double)s.D);
          m = std::max(m, p[b]);
        }
        for (int64_t b = 0; b < s.T; ++b)
          sum += (p[b] = std::exp(p[b] - m));
        for (int64_t e = 0; e < s.D; ++e) {
          double o = 0;
          for (int64_t b = 0; b < s.T; ++b)
            o += p[b] * d.v[i][(size_t)((h * s.T + b) * s.D + e)];
          d.attnRef[i][(size_t)((h * s.S + a) * s.D + e)] = (float)(o / sum);
        }
      }
  }
  d.px.resize((size_t)(PJ_M * PJ_K));
  d.w1.resize((size_t)(PJ_N1 * PJ_K));
  d.b1.resize(PJ_N1);
  d.w2.resize((size_t)(PJ_N2 * PJ_N1));
  d.b2.resize(PJ_N2);
  fillUniform(d.px, -1.f, 1.f, 40);
  fillUniform(d.w1, -1.f / 32, 1.f / 32, 41);
  fillUniform(d.b1, -0.1f, 0.1f, 42);
  fillUniform(d.w2, -1.f / 64, 1.f / 64, 43);
  fillUniform(d.b2, -0.1f, 0.1f, 44);
  for (int e = 0; e < 2; ++e)
    for (int c = 0; c < NumColumns; ++c)
      d.pOut[e][c].assign((size_t)(PJ_M * PJ_N2), 0.f);
  // clip: the first 8 held-out fixture images and PyTorch's embeddings of them.
  if (!readFile(KILN_BENCH_CLIP_IMAGES, d.clipImages, 8 * 3 * 32 * 32) ||
      !readFile(KILN_BENCH_CLIP_OUT, d.clipRef, 8 * 32))
    std::fprintf(stderr, "warning: cannot read the clip fixtures\n");
  for (int e = 0; e < 2; ++e)
    for (int c = 0; c < NumColumns; ++c)
      d.clipOut[e][c].assign(8 * 32, 0.f);
}

// Keeps the oneDNN objects of one thread count alive while its cases run.
struct OneDNNObjects {
  std::unique_ptr<onednn::LogSoftmax> softmax;
  std::unique_ptr<onednn::Attention> attn[5];
  std::unique_ptr<onednn::Projector> proj[2];
};

std::vector<Case> makeCases(Data &d, KilnModels *kiln[2], OneDNNObjects &dnn) {
  std::vector<Case> cases;
  const Column kc[2] = {KilnUnfused, KilnFused};

  // ---- softmax + cross-entropy ----
  dnn.softmax = std::make_unique<onednn::LogSoftmax>(CE_N, CE_C, d.logits.data(), d.dnnDst.data(),
                                                     d.dnnDiffDst.data(), d.ceGrad[OneDNN].data());
  auto dnnLoss = [&d] { // the loss from oneDNN's log-softmax: mean of -dst[i, t_i]
    double s = 0;
    for (int64_t i = 0; i < CE_N; ++i)
      s -= d.dnnDst[(size_t)(i * CE_C + d.targets[i])];
    d.ceLoss[OneDNN][0] = (float)(s / CE_N);
  };
  auto lossCheck = [&d](Column c) {
    double e = std::fabs(d.ceLoss[c][0] - d.refLoss) / std::max(1.0, std::fabs(d.refLoss));
    char b[64];
    std::snprintf(b, sizeof b, "%s %.1e", e <= 1e-4 ? "ok" : "FAIL", e);
    return std::string(b);
  };
  {
    Case c;
    c.group = "softmax-ce";
    c.name = "fwd [2048,32000]";
    c.reference = "C++ double";
    c.bytes = 4.0 * CE_N * CE_C; // one read of the logits
    for (int v = 0; v < 2; ++v)
      if (kiln[v]->available)
        c.run[kc[v]] = [&d, f = kiln[v]->ceForward, col = kc[v]] {
          return f(d.logits.data(), d.targets.data(), d.ceLoss[col].data());
        };
    c.run[OneDNN] = [&dnn, dnnLoss] {
      dnn.softmax->forward();
      dnnLoss();
      return 0;
    };
    c.check = lossCheck;
    cases.push_back(std::move(c));
  }
  {
    Case c;
    c.group = "softmax-ce";
    c.name = "fwd+bwd [2048,32000]";
    c.reference = "oneDNN grad, C++ loss";
    c.bytes = 2 * 4.0 * CE_N * CE_C; // one read and one write of the logits
    c.min_reps = 3;
    for (int v = 0; v < 2; ++v)
      if (kiln[v]->available)
        c.run[kc[v]] = [&d, f = kiln[v]->ceFwdBwd, col = kc[v]] {
          return f(d.logits.data(), d.targets.data(), d.ceLoss[col].data(), d.ceGrad[col].data());
        };
    c.run[OneDNN] = [&dnn, dnnLoss] {
      dnn.softmax->forward();
      dnnLoss();
      dnn.softmax->backward();
      return 0;
    };
    c.check = [&d, lossCheck](Column col) {
      std::string l = lossCheck(col);
      if (col == OneDNN)
        return "loss " + l;
      return "loss " + l + ", grad " +
             checkClose(d.ceGrad[col].data(), d.ceGrad[OneDNN].data(), d.ceGrad[col].size(), 1e-5);
    };
    cases.push_back(std::move(c));
  }

  // ---- attention ----
  for (int i = 0; i < 5; ++i) {
    const AttnShape &s = kAttn[i];
    dnn.attn[i] = std::make_unique<onednn::Attention>(
        s.B * s.H, s.S, s.T, s.D, s.causal, 1.f / std::sqrt((float)s.D), d.q[i].data(),
        d.k[i].data(), d.v[i].data(), d.attnOut[i][OneDNN].data());
    Case c;
    c.group = "attention";
    c.name = s.name;
    for (int v = 0; v < 2; ++v) {
      if (!kiln[v]->available)
        continue;
      KilnModels::AttnFn fns[5] = {kiln[v]->self256, kiln[v]->causal256, kiln[v]->self1024,
                                   kiln[v]->causal1024, kiln[v]->crossQformer};
      c.run[kc[v]] = [&d, f = fns[i], i, col = kc[v]] {
        return f(d.q[i].data(), d.k[i].data(), d.v[i].data(), d.attnOut[i][col].data());
      };
    }
    c.run[OneDNN] = [&dnn, i] {
      dnn.attn[i]->run();
      return 0;
    };
    c.reference = "C++ double (first and last head)";
    c.check = [&d, i, s](Column col) {
      size_t head = (size_t)(s.S * s.D), last = d.q[i].size() - head;
      std::string a = checkClose(d.attnOut[i][col].data(), d.attnRef[i].data(), head, 1e-4);
      std::string b = checkClose(d.attnOut[i][col].data() + last, d.attnRef[i].data() + last, head, 1e-4);
      return a == b ? a : a + " / " + b;
    };
    if (s.S >= 1024)
      c.min_reps = 3;
    cases.push_back(std::move(c));
  }

  // ---- LLaVA projector ----
  for (int e = 0; e < 2; ++e) {
    bool epi = e == 0;
    dnn.proj[e] = std::make_unique<onednn::Projector>(
        PJ_M, PJ_K, PJ_N1, PJ_N2, epi, d.px.data(), d.w1.data(), d.b1.data(), d.w2.data(),
        d.b2.data(), d.pOut[e][OneDNN].data());
    Case c;
    c.group = "projector";
    c.name = epi ? "mlp 576x1024->4096 gelu->4096" : "bare matmuls (no bias/gelu)";
    c.flops = 2.0 * PJ_M * PJ_K * PJ_N1 + 2.0 * PJ_M * PJ_N1 * PJ_N2;
    c.min_reps = 3;
    for (int v = 0; v < 2; ++v) {
      if (!kiln[v]->available)
        continue;
      if (epi)
        c.run[kc[v]] = [&d, f = kiln[v]->projMlp, col = kc[v]] {
          return f(d.px.data(), d.w1.data(), d.b1.data(), d.w2.data(), d.b2.data(),
                   d.pOut[0][col].data());
        };
      else
        c.run[kc[v]] = [&d, f = kiln[v]->projBare, col = kc[v]] {
          return f(d.px.data(), d.w1.data(), d.w2.data(), d.pOut[1][col].data());
        };
    }
    c.run[OneDNN] = [&dnn, e] {
      dnn.proj[e]->run();
      return 0;
    };
    c.check = [&d, e](Column col) {
      if (col == OneDNN)
        return std::string("(reference)");
      return checkClose(d.pOut[e][col].data(), d.pOut[e][OneDNN].data(), d.pOut[e][col].size(),
                        1e-4);
    };
    cases.push_back(std::move(c));
  }

  // ---- the clip example's image encoder (Kiln only: no oneDNN backend yet) ----
  for (int e = 0; e < 2; ++e) {
    int64_t B = e == 0 ? 1 : 8;
    Case c;
    c.group = "clip";
    c.name = "encode_image B=" + std::to_string(B);
    c.reference = "PyTorch fixture";
    for (int v = 0; v < 2; ++v)
      if (kiln[v]->available)
        c.run[kc[v]] = [&d, f = kiln[v]->clipEncodeImage, B, e, col = kc[v]] {
          return f(B, d.clipImages.data(), d.clipOut[e][col].data());
        };
    c.check = [&d, B, e](Column col) {
      return checkClose(d.clipOut[e][col].data(), d.clipRef.data(), (size_t)(B * 32), 1e-4);
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

// DRAM bandwidth as the softmax-CE target counts it: one read and one write of
// a logits-sized buffer (memcpy split over the threads).
double measureCopyGBs(const Buf &src, Buf &dst, int threads) {
  auto copy = [&] {
    size_t n = src.size(), chunk = (n + threads - 1) / threads;
    std::vector<std::thread> ts;
    for (int t = 1; t < threads; ++t)
      ts.emplace_back([&, t] {
        size_t b = t * chunk, e = std::min(n, b + chunk);
        if (b < e)
          std::memcpy(&dst[b], &src[b], (e - b) * sizeof(float));
      });
    std::memcpy(dst.data(), src.data(), std::min(n, chunk) * sizeof(float));
    for (auto &t : ts)
      t.join();
    return 0;
  };
  Timing t = timeIt(copy, 0.5, 3, 20);
  return 2.0 * src.size() * sizeof(float) / (t.median_ms * 1e-3) / 1e9;
}

const Result *find(const std::vector<Result> &rs, const std::string &name, int threads) {
  for (const Result &r : rs)
    if (r.c.group + " " + r.c.name == name && r.threads == threads)
      return &r;
  return nullptr;
}

double ms(const Result *r, Column c) { return r && r->t[c].ran ? r->t[c].median_ms : NAN; }

// "met" / "missed", or "n/a (not run)" when a value is missing.
const char *verdict(double v, bool ok) { return std::isnan(v) ? "n/a (not run)" : ok ? "met" : "missed"; }

void printTargets(const std::vector<Result> &rs, const double dramGBs[3]) {
  std::printf("\nTargets of issue 4 (each at 1 and 2 threads, per column; a line is left out "
              "where its cases did not run):\n");
  for (int t = 1; t <= 2; ++t) {
    std::printf("- threads=%d\n", t);
    const Result *fb = find(rs, "softmax-ce fwd+bwd [2048,32000]", t);
    double bytes = 2 * 4.0 * CE_N * CE_C;
    for (Column c : {KilnUnfused, KilnFused}) {
      double sp = ms(fb, OneDNN) / ms(fb, c), gbs = bytes / (ms(fb, c) * 1e-3) / 1e9;
      if (std::isnan(sp))
        continue; // that column (or oneDNN) did not run
      std::printf("  softmax-CE fwd+bwd, %s: %.2fx oneDNN log-softmax fwd+bwd (target >= 2.2x: "
                  "%s); %.1f GB/s = %.0f%% of measured copy bandwidth %.1f GB/s (target >= 75%%: %s)\n",
                  columnName(c), sp, verdict(sp, sp >= 2.2), gbs, 100 * gbs / dramGBs[t],
                  dramGBs[t], verdict(gbs, gbs >= 0.75 * dramGBs[t]));
    }
    const Result *s1 = find(rs, "attention self seq1024", t);
    const Result *c1 = find(rs, "attention causal seq1024", t);
    const Result *qf = find(rs, "attention qformer cross 4x32q x 257k", t);
    for (Column c : {KilnUnfused, KilnFused}) {
      double sp = ms(s1, OneDNN) / ms(s1, c), spc = ms(c1, OneDNN) / ms(c1, c);
      double cr = ms(c1, c) / ms(s1, c);
      if (std::isnan(sp + spc + cr))
        continue;
      std::printf("  attention seq1024, %s: %.2fx (self) / %.2fx (causal) the unfused oneDNN chain "
                  "(target >= 2x: %s); causal/self time %.2f (target <= 0.6: %s)\n",
                  columnName(c), sp, spc, verdict(sp + spc, sp >= 2 && spc >= 2), cr,
                  verdict(cr, cr <= 0.6));
    }
    double qfr = ms(qf, OneDNN) / ms(qf, KilnFused), qur = ms(qf, OneDNN) / ms(qf, KilnUnfused);
    if (!std::isnan(qur))
      std::printf("  Q-Former cross-attention: kiln-unfused %.2fx the oneDNN chain\n", qur);
    if (!std::isnan(qfr + qur))
      std::printf("  Q-Former cross-attention: kiln-fused %.2fx the oneDNN chain; kiln-fused / "
                  "kiln-unfused time %.2f (target <= 1: %s)\n",
                  qfr, ms(qf, KilnFused) / ms(qf, KilnUnfused),
                  verdict(qfr, ms(qf, KilnFused) <= ms(qf, KilnUnfused)));
    const Result *pm = find(rs, "projector mlp 576x1024->4096 gelu->4096", t);
    const Result *pb = find(rs, "projector bare matmuls (no bias/gelu)", t);
    double flops = 2.0 * PJ_M * PJ_K * PJ_N1 + 2.0 * PJ_M * PJ_N1 * PJ_N2;
    for (Column c : {KilnUnfused, KilnFused, OneDNN}) {
      double g = flops / (ms(pm, c) * 1e-3) / 1e9 / t, over = ms(pm, c) / ms(pb, c) - 1;
      if (std::isnan(g + over))
        continue;
      std::printf("  projector, %s: %.1f GFLOP/s per core (target >= 170: %s); bias+GELU "
                  "epilogue %+.1f%% over the bare matmuls (target <= 5%%: %s)\n",
                  columnName(c), g, verdict(g, g >= 170), 100 * over,
                  verdict(over, over <= 0.05));
    }
  }
  std::printf("  clip image encoder: Kiln only; the oneDNN backend (--backend=onednn|auto) does "
              "not exist yet.\n");
}

} // namespace

int main(int argc, char **argv) {
  const char *budgetEnv = std::getenv("KILN_BENCH_BUDGET_S");
  double budget = budgetEnv ? std::atof(budgetEnv) : 0.5;
  const char *filter = std::getenv("KILN_BENCH_FILTER"); // substring of "group name"
  std::vector<int> threadCounts = {1, 2};
  if (const char *t = std::getenv("KILN_BENCH_THREADS"))
    threadCounts = {std::atoi(t)};

  std::printf("kiln-bench: Kiln (kilnc-generated libraries) vs hand-written oneDNN primitive "
              "chains, f32\n");
  const dnnl_version_t *ver = dnnl_version();
  std::printf("oneDNN %d.%d.%d (%s), OMP_PROC_BIND=%s OMP_PLACES=%s, budget %.2f s per "
              "cell (min 3, max 20 reps, after one warm-up call), median times in ms\n",
              ver->major, ver->minor, ver->patch, ver->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "?",
              std::getenv("OMP_PROC_BIND") ? std::getenv("OMP_PROC_BIND") : "(unset)",
              std::getenv("OMP_PLACES") ? std::getenv("OMP_PLACES") : "(unset)", budget);
  std::printf("NOTE: the Kiln-generated libraries are single-threaded today (no parallel_for "
              "yet): their 2-thread rows run on one core; only oneDNN uses 2 threads.\n");
  std::printf("ratios onednn/X > 1 mean X is faster than oneDNN.\n");

  // An empty safetensors file (header "{}") for the workloads without parameters.
  std::string emptyWeights = KILN_BENCH_EMPTY_WEIGHTS;
  {
    std::ofstream f(emptyWeights, std::ios::binary);
    const unsigned char hdr[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    f.write(reinterpret_cast<const char *>(hdr), sizeof hdr);
  }
  Data d;
  prepareData(d);
  std::vector<Result> all;
  double dram[3] = {0, 0, 0};
  for (int threads : threadCounts) {
    omp_set_num_threads(threads);
    KilnModels unfused = makeKilnUnfused(threads, KILN_BENCH_CLIP_WEIGHTS, emptyWeights.c_str());
    KilnModels fused = makeKilnFused(threads, KILN_BENCH_CLIP_WEIGHTS, emptyWeights.c_str());
    if (!unfused.available)
      std::fprintf(stderr, "kiln-unfused: %s\n", unfused.error.c_str());
    if (threads == threadCounts[0]) {
      std::printf("kiln-unfused: %s\n", unfused.available ? unfused.compiler.c_str() : unfused.error.c_str());
      std::printf("kiln-fused: %s\n", fused.available ? fused.compiler.c_str() : fused.error.c_str());
    }
    KilnModels *kiln[2] = {&unfused, &fused};
    OneDNNObjects dnn;
    std::vector<Case> cases = makeCases(d, kiln, dnn);
    std::vector<Case> selected;
    for (Case &c : cases) {
      if (filter && (c.group + " " + c.name).find(filter) == std::string::npos)
        continue;
      c.budget_s = budget;
      selected.push_back(std::move(c));
    }
    {
      Buf dst(d.logits.size());
      if (threads <= 2)
        dram[threads] = measureCopyGBs(d.logits, dst, threads);
    }
    std::fprintf(stderr, "threads=%d (omp_get_max_threads()=%d)\n", threads, omp_get_max_threads());
    std::vector<Result> rs = runCases(std::move(selected), threads, true);
    for (Result &r : rs)
      all.push_back(std::move(r));
  }
  printTable(all);
  std::printf("\nmetric: softmax-ce GB/s count one read of the logits (fwd) or one read and one "
              "write (fwd+bwd); projector GFLOP/s per core = 2*M*K*N summed over both matmuls / "
              "time / threads.\n");
  std::printf("memcpy of the logits (one read + one write counted): %.1f GB/s at 1 thread, %.1f "
              "GB/s at 2 threads\n",
              dram[1], dram[2]);
  printTargets(all, dram);
  (void)argc;
  (void)argv;
  return 0;
}

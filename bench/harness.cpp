#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>

namespace bench {

const char *columnName(Column c) {
  switch (c) {
  case KilnUnfused: return "kiln-unfused";
  case KilnFused: return "kiln-fused";
  case OneDNN: return "onednn";
  default: return "?";
  }
}

static double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

Timing timeIt(const std::function<int()> &fn, double budget_s, int min_reps, int max_reps) {
  Timing t;
  try {
    if (int st = fn()) { // warm-up: first-touch of buffers, caches, lazy init
      t.error = "status " + std::to_string(st);
      return t;
    }
    std::vector<double> ms;
    double start = nowMs();
    while ((int)ms.size() < max_reps &&
           ((int)ms.size() < min_reps || nowMs() - start < budget_s * 1e3)) {
      double t0 = nowMs();
      if (int st = fn()) {
        t.error = "status " + std::to_string(st);
        return t;
      }
      ms.push_back(nowMs() - t0);
    }
    std::sort(ms.begin(), ms.end());
    size_t n = ms.size();
    t.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    t.min_ms = ms[0];
    t.reps = (int)n;
    t.ran = true;
  } catch (const std::exception &e) {
    t.error = e.what();
  }
  return t;
}

std::vector<Result> runCases(std::vector<Case> cases, int threads, bool verbose) {
  std::vector<Result> out;
  for (Case &c : cases) {
    Result r;
    r.threads = threads;
    // oneDNN first: the Kiln columns are checked against its outputs.
    for (int col : {OneDNN, KilnUnfused, KilnFused}) {
      if (!c.run[col])
        continue;
      if (verbose) {
        std::fprintf(stderr, "  [%dT] %-10s %-34s %-12s ...", threads, c.group.c_str(),
                     c.name.c_str(), columnName((Column)col));
        std::fflush(stderr);
      }
      r.t[col] = timeIt(c.run[col], c.budget_s, c.min_reps, c.max_reps);
      if (r.t[col].ran && c.check)
        r.check[col] = c.check((Column)col);
      if (verbose)
        std::fprintf(stderr, " %s\n",
                     r.t[col].ran ? (std::to_string(r.t[col].median_ms) + " ms").c_str()
                                  : ("error: " + r.t[col].error).c_str());
    }
    r.c = std::move(c);
    out.push_back(std::move(r));
  }
  return out;
}

static std::string fmtTime(const Timing &t, bool present) {
  if (!present)
    return "n/a";
  if (!t.ran)
    return "error";
  char b[64];
  std::snprintf(b, sizeof b, "%.3f (%d)", t.median_ms, t.reps);
  return b;
}

static std::string fmtRatio(const Timing &num, const Timing &den) {
  if (!num.ran || !den.ran)
    return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.2fx", num.median_ms / den.median_ms);
  return b;
}

static std::string fmtMetric(const Result &r, Column col) {
  if (!r.t[col].ran)
    return "-";
  char b[48];
  double s = r.t[col].median_ms * 1e-3;
  if (r.c.flops > 0)
    std::snprintf(b, sizeof b, "%.1f", r.c.flops / s / 1e9 / r.threads);
  else if (r.c.bytes > 0)
    std::snprintf(b, sizeof b, "%.1f", r.c.bytes / s / 1e9);
  else
    return "-";
  return b;
}

void printTable(const std::vector<Result> &results) {
  std::printf("\n| case | thr | kiln-unfused ms (reps) | kiln-fused ms (reps) | onednn ms (reps) "
              "| onednn/unfused | onednn/fused | metric unfused / fused / onednn | check unfused | check fused | check onednn |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const Result &r : results) {
    std::string metricUnit = r.c.flops > 0 ? " GFLOP/s/core" : r.c.bytes > 0 ? " GB/s" : "";
    std::string metric = metricUnit.empty()
                             ? "-"
                             : fmtMetric(r, KilnUnfused) + " / " + fmtMetric(r, KilnFused) +
                                   " / " + fmtMetric(r, OneDNN) + metricUnit;
    auto chk = [&](Column c) -> std::string {
      if (!r.c.run[c])
        return "n/a";
      if (!r.t[c].ran)
        return "error: " + r.t[c].error;
      return r.check[c].empty() ? "-" : r.check[c];
    };
    std::printf("| %s %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.c.group.c_str(),
                r.c.name.c_str(), r.threads,
                fmtTime(r.t[KilnUnfused], (bool)r.c.run[KilnUnfused]).c_str(),
                fmtTime(r.t[KilnFused], (bool)r.c.run[KilnFused]).c_str(),
                fmtTime(r.t[OneDNN], (bool)r.c.run[OneDNN]).c_str(),
                fmtRatio(r.t[OneDNN], r.t[KilnUnfused]).c_str(),
                fmtRatio(r.t[OneDNN], r.t[KilnFused]).c_str(), metric.c_str(),
                chk(KilnUnfused).c_str(), chk(KilnFused).c_str(), chk(OneDNN).c_str());
  }
  std::fflush(stdout);
}

void fillUniform(std::vector<float> &v, float lo, float hi, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float &x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
  }
}

double maxRelErr(const float *a, const float *b, size_t n) {
  double err = 0, mag = 1;
  for (size_t i = 0; i < n; ++i) {
    double d = std::fabs((double)a[i] - (double)b[i]);
    if (!(d <= err)) // also catches NaN
      err = std::isnan(d) ? INFINITY : d;
    mag = std::max(mag, std::fabs((double)b[i]));
  }
  return err / mag;
}

std::string checkClose(const float *a, const float *b, size_t n, double tol) {
  double e = maxRelErr(a, b, n);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.1e", e <= tol ? "ok" : "FAIL", e);
  return buf;
}

} // namespace bench

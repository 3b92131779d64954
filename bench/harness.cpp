#include "harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iterator>

namespace bench {

const char *columnName(Column c) {
  switch (c) {
  case KilnUnfused: return "kiln-unfused";
  case KilnNative: return "kiln-native";
  case KilnOneDNN: return "kiln-onednn";
  case KilnAuto: return "kiln-auto";
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
    // oneDNN first: the Kiln columns are checked against its outputs; then
    // kiln-unfused, whose outputs the fused columns are checked against.
    for (Column col : {OneDNN, KilnUnfused, KilnNative, KilnOneDNN, KilnAuto}) {
      if (!c.run[col])
        continue;
      if (verbose) {
        std::fprintf(stderr, "  [%dT] %-10s %-34s %-12s ...", threads, c.group.c_str(),
                     c.name.c_str(), columnName(col));
        std::fflush(stderr);
      }
      r.t[col] = timeIt(c.run[col], c.budget_s, c.min_reps, c.max_reps);
      if (r.t[col].ran && c.check)
        r.check[col] = c.check(col);
      if (r.t[col].ran && col != KilnUnfused && col != OneDNN && c.checkVsUnfused &&
          r.t[KilnUnfused].ran)
        r.vsUnfused[col] = c.checkVsUnfused(col);
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

// kiln-auto's time over the faster of kiln-native and kiln-onednn, and which
// that was: "1.02 (native)". Below or near 1: auto picked as well as the best.
static std::string fmtAutoVsBest(const Result &r) {
  const Timing &a = r.t[KilnAuto], &n = r.t[KilnNative], &o = r.t[KilnOneDNN];
  if (!a.ran || (!n.ran && !o.ran))
    return "-";
  bool nativeBest = n.ran && (!o.ran || n.median_ms <= o.median_ms);
  const Timing &best = nativeBest ? n : o;
  char b[48];
  std::snprintf(b, sizeof b, "%.2f (%s)", a.median_ms / best.median_ms,
                nativeBest ? "native" : "onednn");
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

// A check cell: the reference check, then (fused Kiln columns) the one against
// kiln-unfused.
static std::string fmtCheck(const Result &r, Column c) {
  if (!r.c.run[c])
    return "n/a";
  if (!r.t[c].ran)
    return "error: " + r.t[c].error;
  std::string s = r.check[c].empty() ? "-" : r.check[c];
  if (c != KilnUnfused && c != OneDNN && r.c.checkVsUnfused)
    s += "; vs unfused: " + (r.vsUnfused[c].empty() ? std::string("-") : r.vsUnfused[c]);
  return s;
}

static const Column kAllColumns[] = {KilnUnfused, KilnNative, KilnOneDNN, KilnAuto, OneDNN};

void printTable(const std::vector<Result> &results) {
  std::printf("\nTimes in ms, median (reps). onednn/auto > 1: kiln-auto faster than the oneDNN "
              "chain; unfused/auto: the fusion gain; auto/best: kiln-auto over the faster of "
              "kiln-native and kiln-onednn.\n\n");
  std::printf("| case | thr |");
  for (Column c : kAllColumns)
    std::printf(" %s |", columnName(c));
  std::printf(" onednn/auto | unfused/auto | auto/best | metric unfused / native / "
              "kiln-onednn / auto / onednn |\n");
  std::printf("| --- | --- |");
  for (size_t i = 0; i < std::size(kAllColumns) + 4; ++i)
    std::printf(" --- |");
  std::printf("\n");
  for (const Result &r : results) {
    std::string metricUnit = r.c.flops > 0 ? " GFLOP/s/core" : r.c.bytes > 0 ? " GB/s" : "";
    std::string metric;
    if (metricUnit.empty()) {
      metric = "-";
    } else {
      for (Column c : kAllColumns)
        metric += (metric.empty() ? "" : " / ") + fmtMetric(r, c);
      metric += metricUnit;
    }
    std::printf("| %s %s | %d |", r.c.group.c_str(), r.c.name.c_str(), r.threads);
    for (Column c : kAllColumns)
      std::printf(" %s |", fmtTime(r.t[c], (bool)r.c.run[c]).c_str());
    std::printf(" %s | %s | %s | %s |\n", fmtRatio(r.t[OneDNN], r.t[KilnAuto]).c_str(),
                fmtRatio(r.t[KilnUnfused], r.t[KilnAuto]).c_str(), fmtAutoVsBest(r).c_str(),
                metric.c_str());
  }

  std::printf("\nChecks: max relative error against the reference; the fused Kiln columns also "
              "against kiln-unfused's outputs (\"vs unfused\").\n\n");
  std::printf("| case | thr | reference |");
  for (Column c : kAllColumns)
    std::printf(" %s |", columnName(c));
  std::printf("\n| --- | --- | --- |");
  for (size_t i = 0; i < std::size(kAllColumns); ++i)
    std::printf(" --- |");
  std::printf("\n");
  for (const Result &r : results) {
    std::printf("| %s %s | %d | %s |", r.c.group.c_str(), r.c.name.c_str(), r.threads,
                r.c.reference.c_str());
    for (Column c : kAllColumns)
      std::printf(" %s |", fmtCheck(r, c).c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
}

bool writeCsv(const std::vector<Result> &results, const char *path) {
  FILE *f = std::fopen(path, "w");
  if (!f)
    return false;
  std::fprintf(f, "group,case,threads,column,median_ms,min_ms,reps\n");
  for (const Result &r : results)
    for (Column c : kAllColumns)
      if (r.t[c].ran)
        std::fprintf(f, "%s,\"%s\",%d,%s,%.6g,%.6g,%d\n", r.c.group.c_str(), r.c.name.c_str(),
                     r.threads, columnName(c), r.t[c].median_ms, r.t[c].min_ms, r.t[c].reps);
  bool ok = !std::ferror(f);
  return std::fclose(f) == 0 && ok;
}

int printFailures(const std::vector<Result> &results) {
  int failures = 0, checked = 0;
  std::printf("\n");
  for (const Result &r : results)
    for (Column c : kAllColumns) {
      if (!r.c.run[c])
        continue;
      ++checked;
      bool bad = !r.t[c].ran || r.check[c].find("FAIL") != std::string::npos ||
                 r.vsUnfused[c].find("FAIL") != std::string::npos;
      if (bad) {
        ++failures;
        std::printf("CHECK FAILED: %s %s, %d thread(s), %s: %s\n", r.c.group.c_str(),
                    r.c.name.c_str(), r.threads, columnName(c), fmtCheck(r, c).c_str());
      }
    }
  if (failures == 0)
    std::printf("All checks ok (%d cells run).\n", checked);
  else
    std::printf("%d of %d cells FAILED their checks or did not run.\n", failures, checked);
  std::fflush(stdout);
  return failures;
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

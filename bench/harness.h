// The benchmark harness: a registry of cases, each with one runner per column
// (four Kiln builds and the hand-written oneDNN chain), a time budget, checks
// and a metric.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

// The columns of the table. A case leaves a column empty when it has no such
// implementation or the variant was not built (printed "n/a").
//   kiln-unfused  kilnc --fusion=false --backend=native: the op-by-op baseline
//   kiln-native   kilnc --backend=native: fusion, fused kernels, native matmuls
//   kiln-onednn   kilnc --backend=onednn: fusion, matmuls/linear layers on oneDNN
//   kiln-auto     kilnc's defaults (fusion, --backend=auto): "fused" in the targets
//   onednn        the hand-written oneDNN primitive chain (bench/onednn/)
enum Column {
  KilnUnfused = 0,
  KilnNative = 1,
  KilnOneDNN = 2,
  KilnAuto = 3,
  OneDNN = 4,
  NumColumns = 5
};
constexpr Column kKilnColumns[] = {KilnUnfused, KilnNative, KilnOneDNN, KilnAuto};
// The fused Kiln columns, whose outputs are also checked against kiln-unfused's.
constexpr Column kFusedColumns[] = {KilnNative, KilnOneDNN, KilnAuto};
const char *columnName(Column c);

struct Timing {
  bool ran = false;
  double median_ms = 0, min_ms = 0;
  int reps = 0;
  std::string error;  // a non-zero status or exception while running
};

struct Case {
  std::string group;   // "softmax-ce", "attention", ... (rows of a group print together)
  std::string name;    // "fwd+bwd [2048,32000]"
  // Runners; an empty std::function is "n/a". They return a status (0 = OK).
  std::function<int()> run[NumColumns];
  // Compares a column's outputs (as left by its last timed run) against the
  // reference; returns "" when within tolerance, else a short message. The
  // reference is the oneDNN output or a plain C++ computation.
  std::function<std::string(Column)> check;
  std::string reference = "oneDNN";   // what `check` compares against
  // Compares a fused Kiln column's outputs against kiln-unfused's (as left by
  // its last run in this case at this thread count); called only when
  // kiln-unfused ran. "" when within tolerance, else a short message.
  std::function<std::string(Column)> checkVsUnfused;
  // Per call: floating-point operations (GFLOP/s per core) or bytes (GB/s).
  double flops = 0, bytes = 0;
  // Time budget: run until budget_s has passed and min_reps are done, or max_reps.
  double budget_s = 0.5;
  int min_reps = 3, max_reps = 20;
};

struct Result {
  Case c;
  int threads = 1;
  Timing t[NumColumns];
  std::string check[NumColumns];      // "ok <max err>", "FAIL <max err>", or "" when not run
  std::string vsUnfused[NumColumns];  // the same against kiln-unfused's outputs
};

// One timing: a warm-up call, then calls until the budget is spent.
Timing timeIt(const std::function<int()> &fn, double budget_s, int min_reps, int max_reps);

// Runs every case at the current OpenMP thread count and returns the results.
// Order per case: onednn (the reference of most checks), kiln-unfused (the
// reference of the fused columns), then kiln-native, kiln-onednn, kiln-auto.
std::vector<Result> runCases(std::vector<Case> cases, int threads, bool verbose);

// The timing table (medians, ratios, metric) and the check table.
void printTable(const std::vector<Result> &results);
// The timings as CSV for bench/plot.py: one line
// "group,case,threads,column,median_ms,min_ms,reps" per cell that ran. Returns
// false when the file cannot be written.
bool writeCsv(const std::vector<Result> &results, const char *path);
// Check cells that did not pass (a "FAIL" message or a run error), one line
// each; returns their count.
int printFailures(const std::vector<Result> &results);

// Deterministic inputs.
void fillUniform(std::vector<float> &v, float lo, float hi, uint64_t seed);

// max |a - b| / max(1, max |b|) over n elements, and the check message.
double maxRelErr(const float *a, const float *b, size_t n);
std::string checkClose(const float *a, const float *b, size_t n, double tol);

} // namespace bench

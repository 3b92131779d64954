// The benchmark harness: a registry of cases, each with one runner per column
// (Kiln unfused, Kiln fused, oneDNN), a time budget, a check and a metric.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

// The columns of the table. A case leaves a column empty when it has no such
// implementation (printed "n/a"): the fused column stays empty until kilnc's
// fusion passes land and the bench is configured with KILN_BENCH_FUSED=ON.
enum Column { KilnUnfused = 0, KilnFused = 1, OneDNN = 2, NumColumns = 3 };
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
  std::string check[NumColumns];  // "ok (max err ...)", "FAIL ...", or "" when not run
};

// One timing: a warm-up call, then calls until the budget is spent.
Timing timeIt(const std::function<int()> &fn, double budget_s, int min_reps, int max_reps);

// Runs every case at the current OpenMP thread count and returns the results.
std::vector<Result> runCases(std::vector<Case> cases, int threads, bool verbose);

void printTable(const std::vector<Result> &results);

// Deterministic inputs.
void fillUniform(std::vector<float> &v, float lo, float hi, uint64_t seed);

// max |a - b| / max(1, max |b|) over n elements, and the check message.
double maxRelErr(const float *a, const float *b, size_t n);
std::string checkClose(const float *a, const float *b, size_t n, double tol);

} // namespace bench

// The generated C++ header (kilnc --cpp-header) used as an application would:
// predict, a training step, and errors (a wrong span size, a class index out
// of range, a missing file) as exceptions carrying the status and message.
#include <cstdio>
#include <vector>

#include "mlp.hpp"

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  try {
    mlp::model missing("does-not-exist.safetensors");
  } catch (const mlp::error &e) {
    std::printf("missing file: status %d\n", e.status());
  }
  mlp::model model(argv[1], 1);
  mlp::model moved = std::move(model); // the handle moves with it
  std::vector<float> x(2 * MLP_PREDICT_X_DIM1, 0.0f), probs(2 * MLP_PREDICT_OUT_DIM1);
  moved.predict(2, x, probs);
  float total = 0.0f;
  for (float p : probs)
    total += p;
  std::printf("predict: probabilities summing to %.4f\n", total);
  try {
    moved.predict(3, x, probs);
  } catch (const mlp::error &e) {
    std::printf("predict with B = 3: status %d: %s\n", e.status(), e.what());
  }
  std::vector<int64_t> y = {3, 7};
  float first = moved.fit(0.1f, 2, x, y), second = moved.fit(0.1f, 2, x, y);
  std::printf("fit: the loss falls: %s\n", second < first ? "yes" : "no");
  std::printf("fit memory: %s\n", moved.fit_memory(2) >= MLP_FIT_ARENA_BYTES(2) ? "ok" : "no");
  y[1] = 10;
  try {
    moved.fit(0.1f, 2, x, y);
  } catch (const mlp::error &e) {
    std::printf("fit with a target of 10: status %d: %s\n", e.status(), e.what());
  }
  return 0;
}

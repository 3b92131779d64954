// The digits MLP through its C++ header (kiln_add_model's CPP_HEADER), its
// weights compiled in: the model class needs no path.
#include <cstdio>
#include <vector>

#include "mlp.hpp"

int main() {
  mlp::model model;
  std::vector<float> x(MLP_PREDICT_X_DIM1, 0.0f), probs(MLP_PREDICT_OUT_DIM1);
  model.predict(1, x, probs);
  float total = 0.0f;
  for (float p : probs)
    total += p;
  std::printf("C++ predict: probabilities summing to %.4f\n", total);
  return 0;
}

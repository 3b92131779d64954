#include "graph.h"
#include "check.h"

/* Symbolic N nodes, E edges and K columns, bound per call. */
enum { N = 5, E = 8, K = 3 };

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  fixture_dir = argv[2];
  graph_model *m;
  check_status("create", graph_create(argv[1], NULL, &m), graph_last_error(NULL));
  float *h = F32("messages.h.f32", N * 4);
  int64_t *edges = I64("messages.edges.i64", 2 * E), *cols = I64("messages.cols.i64", K);
  float o0[E * 4], o1[N * 4], o2[N * 4], o3[N * K];
  check_status("messages", graph_messages(m, N, E, K, h, edges, cols, o0, o1, o2, o3),
               graph_last_error(m));
  check_f32("messages.out0.f32", o0, E * 4);
  check_f32("messages.out1.f32", o1, N * 4);
  check_f32("messages.out2.f32", o2, N * 4);
  check_f32("messages.out3.f32", o3, N * K);

  float d[N * 4];
  check_status("degree", graph_degree(m, N, E, h, edges, d), graph_last_error(m));
  check_f32("degree.out.f32", d, N * 4);
  graph_destroy(m);
  printf("%d mismatches\n", failures);
  return failures != 0;
}

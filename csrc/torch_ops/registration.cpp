// Schemas and CPU implementations of the project's torch custom ops (namespace `elyte`).
#include <torch/library.h>

#include "torch_ops/neighbor_list.h"

TORCH_LIBRARY(elyte, m) {
  m.def("neighbor_pairs(Tensor positions, Tensor cell, bool[3] pbc, float cutoff) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(elyte, CPU, m) {
  m.impl("neighbor_pairs", &elyte::neighbor_pairs_cpu);
}

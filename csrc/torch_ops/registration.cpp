// Schemas and CPU implementations of the project's torch custom ops (namespace `elyte`).
#include <torch/library.h>

#include "torch_ops/edge_messages.h"
#include "torch_ops/neighbor_list.h"

TORCH_LIBRARY(elyte, m) {
  m.def("neighbor_pairs(Tensor positions, Tensor cell, bool[3] pbc, float cutoff) -> (Tensor, Tensor)");
  m.def("edge_messages(Tensor nodes, Tensor edge_index, Tensor u, Tensor radial, int lmax) -> Tensor");
  m.def("edge_messages_backward(Tensor grad_out, Tensor nodes, Tensor edge_index, Tensor u, Tensor radial, "
        "int lmax) -> (Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(elyte, CPU, m) {
  m.impl("neighbor_pairs", &elyte::neighbor_pairs_cpu);
  m.impl("edge_messages", &elyte::edge_messages_cpu);
  m.impl("edge_messages_backward", &elyte::edge_messages_backward_cpu);
}

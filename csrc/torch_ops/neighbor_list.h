#pragma once

#include <ATen/ATen.h>

#include <array>
#include <tuple>

#include "torch_ops/neighbor_grid.h"
#include "torch_ops/neighbor_visit.h"

namespace elyte {

// Half neighbour list (i < j) within `cutoff` (Angstrom), grouped by ascending i; the order within
// a group is the cell-list order, deterministic and the same on CPU and CUDA.
// Returns pairs [2, P] int64 and integer lattice shifts [P, 3] int64.
std::tuple<at::Tensor, at::Tensor> neighbor_pairs_cpu(const at::Tensor& positions, const at::Tensor& cell,
                                                      std::array<bool, 3> pbc, double cutoff);
std::tuple<at::Tensor, at::Tensor> neighbor_pairs_cuda(const at::Tensor& positions, const at::Tensor& cell,
                                                       std::array<bool, 3> pbc, double cutoff);

GridView make_view(const BinnedAtoms& b);

}  // namespace elyte

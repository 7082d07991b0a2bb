// CUDA neighbour list: the same cell-list search as the CPU kernel (neighbor_visit.h), one thread
// per atom, in two passes (count, then write at prefix-sum offsets), so that the output equals the
// CPU op's exactly, order included.
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "torch_ops/neighbor_list.h"

namespace elyte {
namespace {

constexpr int kThreads = 128;

__global__ void count_kernel(GridView view, int64_t n_atoms, int64_t* counts) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n_atoms) return;
  int64_t n = 0;
  visit_neighbors(view, i, [&](int64_t, const int64_t*) { ++n; });
  counts[i] = n;
}

__global__ void fill_kernel(GridView view, int64_t n_atoms, const int64_t* offsets, int64_t n_pairs,
                            int64_t* pairs, int64_t* shifts) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n_atoms) return;
  int64_t k = offsets[i];
  visit_neighbors(view, i, [&](int64_t j, const int64_t* s) {
    pairs[k] = i;
    pairs[n_pairs + k] = j;
    shifts[3 * k] = s[0];
    shifts[3 * k + 1] = s[1];
    shifts[3 * k + 2] = s[2];
    ++k;
  });
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> neighbor_pairs_cuda(const at::Tensor& positions, const at::Tensor& cell,
                                                       std::array<bool, 3> pbc, double cutoff) {
  check_neighbor_inputs(positions, cell, cutoff);
  const c10::cuda::CUDAGuard guard(positions.device());
  const BinnedAtoms binned = bin_atoms(positions.contiguous(), cell, pbc, cutoff);
  const GridView view = make_view(binned);
  const int64_t n_atoms = positions.size(0);
  const auto long_options = positions.options().dtype(at::kLong);
  if (n_atoms == 0) {
    return {at::empty({2, 0}, long_options), at::empty({0, 3}, long_options)};
  }
  const auto stream = c10::cuda::getCurrentCUDAStream();
  const int blocks = static_cast<int>((n_atoms + kThreads - 1) / kThreads);

  auto counts = at::empty({n_atoms}, long_options);
  count_kernel<<<blocks, kThreads, 0, stream>>>(view, n_atoms, counts.data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const auto ends = at::cumsum(counts, 0);
  const int64_t n_pairs = ends[-1].item<int64_t>();
  const auto offsets = ends - counts;

  auto pairs = at::empty({2, n_pairs}, long_options);
  auto shifts = at::empty({n_pairs, 3}, long_options);
  fill_kernel<<<blocks, kThreads, 0, stream>>>(view, n_atoms, offsets.data_ptr<int64_t>(), n_pairs,
                                               pairs.data_ptr<int64_t>(), shifts.data_ptr<int64_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {pairs, shifts};
}

}  // namespace elyte

TORCH_LIBRARY_IMPL(elyte, CUDA, m) {
  m.impl("neighbor_pairs", &elyte::neighbor_pairs_cuda);
}

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "torch_ops/neighbor_list.h"

namespace elyte {

GridView make_view(const BinnedAtoms& b) {
  GridView v;
  for (int a = 0; a < 3; ++a) {
    v.nbins[a] = b.grid.nbins[a];
    v.periodic[a] = b.grid.periodic[a];
  }
  std::copy(b.grid.cell.begin(), b.grid.cell.end(), v.cell);
  v.cutoff2 = b.grid.cutoff * b.grid.cutoff;
  v.wrapped = b.wrapped.data_ptr<double>();
  v.image = b.image.data_ptr<int64_t>();
  v.bin = b.bin.data_ptr<int64_t>();
  v.sorted = b.sorted.data_ptr<int64_t>();
  v.sorted_pos = b.sorted_pos.data_ptr<double>();
  v.bin_start = b.bin_start.data_ptr<int64_t>();
  v.bin_count = b.bin_count.data_ptr<int64_t>();
  return v;
}

std::tuple<at::Tensor, at::Tensor> neighbor_pairs_cpu(const at::Tensor& positions, const at::Tensor& cell,
                                                      std::array<bool, 3> pbc, double cutoff) {
  check_neighbor_inputs(positions, cell, cutoff);
  const BinnedAtoms binned = bin_atoms(positions.contiguous(), cell, pbc, cutoff);
  const GridView view = make_view(binned);
  const int64_t n_atoms = positions.size(0);

  // Fixed chunks of atoms, each filling its own buffer of (i, j, shift) records, so that the
  // concatenation is grouped by ascending i whatever the thread count. Small systems stay on one
  // thread: waking the pool costs more than the search (measured: 680 atoms, 1-3 ms serial vs 20 ms
  // on two busy cores).
  constexpr int64_t kSerialBelow = 2048;
  const int64_t n_chunks = n_atoms < kSerialBelow ? 1 : std::min<int64_t>(n_atoms, 8 * at::get_num_threads());
  std::vector<std::vector<int64_t>> chunks(std::max<int64_t>(n_chunks, 1));
  at::parallel_for(0, n_chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      auto& out = chunks[c];
      for (int64_t i = c * n_atoms / n_chunks; i < (c + 1) * n_atoms / n_chunks; ++i) {
        visit_neighbors(view, i, [&](int64_t j, const int64_t* s) {
          out.insert(out.end(), {i, j, s[0], s[1], s[2]});
        });
      }
    }
  });

  int64_t n_pairs = 0;
  for (const auto& c : chunks) n_pairs += static_cast<int64_t>(c.size()) / 5;
  auto pairs = at::empty({2, n_pairs}, positions.options().dtype(at::kLong));
  auto shifts = at::empty({n_pairs, 3}, positions.options().dtype(at::kLong));
  int64_t* pi = pairs.data_ptr<int64_t>();
  int64_t* pj = pi + n_pairs;
  int64_t* ps = shifts.data_ptr<int64_t>();
  int64_t k = 0;
  for (const auto& c : chunks) {
    for (size_t r = 0; r < c.size(); r += 5, ++k) {
      pi[k] = c[r];
      pj[k] = c[r + 1];
      std::copy_n(&c[r + 2], 3, ps + 3 * k);
    }
  }
  return {pairs, shifts};
}

}  // namespace elyte

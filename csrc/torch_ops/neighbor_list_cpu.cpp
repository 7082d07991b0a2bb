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
  v.bin_start = b.bin_start.data_ptr<int64_t>();
  v.bin_count = b.bin_count.data_ptr<int64_t>();
  return v;
}

namespace {

struct Found {
  int64_t i, j, shift[3];
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> neighbor_pairs_cpu(const at::Tensor& positions, const at::Tensor& cell,
                                                      std::array<bool, 3> pbc, double cutoff) {
  check_neighbor_inputs(positions, cell, cutoff);
  const BinnedAtoms binned = bin_atoms(positions.contiguous(), cell, pbc, cutoff);
  const GridView view = make_view(binned);
  const int64_t n_atoms = positions.size(0);

  // Fixed chunks of atoms, each with its own buffer, so the concatenation is ordered by i.
  const int64_t n_chunks = std::min<int64_t>(n_atoms, 8 * at::get_num_threads());
  std::vector<std::vector<Found>> chunks(std::max<int64_t>(n_chunks, 1));
  at::parallel_for(0, n_chunks, 1, [&](int64_t first, int64_t last) {
    std::vector<Found> row;
    for (int64_t c = first; c < last; ++c) {
      auto& out = chunks[c];
      for (int64_t i = c * n_atoms / n_chunks; i < (c + 1) * n_atoms / n_chunks; ++i) {
        row.clear();
        visit_neighbors(view, i, [&](int64_t j, const int64_t* s) {
          row.push_back({i, j, {s[0], s[1], s[2]}});
        });
        std::sort(row.begin(), row.end(), [](const Found& x, const Found& y) { return x.j < y.j; });
        out.insert(out.end(), row.begin(), row.end());
      }
    }
  });

  int64_t n_pairs = 0;
  for (const auto& c : chunks) n_pairs += static_cast<int64_t>(c.size());
  auto pairs = at::empty({2, n_pairs}, positions.options().dtype(at::kLong));
  auto shifts = at::empty({n_pairs, 3}, positions.options().dtype(at::kLong));
  int64_t* pi = pairs.data_ptr<int64_t>();
  int64_t* pj = pi + n_pairs;
  int64_t* ps = shifts.data_ptr<int64_t>();
  int64_t k = 0;
  for (const auto& c : chunks) {
    for (const auto& f : c) {
      pi[k] = f.i;
      pj[k] = f.j;
      std::copy_n(f.shift, 3, ps + 3 * k);
      ++k;
    }
  }
  return {pairs, shifts};
}

}  // namespace elyte

#include "torch_ops/neighbor_grid.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace elyte {

void check_neighbor_inputs(const at::Tensor& positions, const at::Tensor& cell, double cutoff) {
  TORCH_CHECK(positions.dim() == 2 && positions.size(1) == 3,
              "neighbor_pairs: positions must have shape [N, 3], got ", positions.sizes());
  TORCH_CHECK(cell.dim() == 2 && cell.size(0) == 3 && cell.size(1) == 3,
              "neighbor_pairs: cell must have shape [3, 3], got ", cell.sizes());
  TORCH_CHECK(positions.is_floating_point() && cell.is_floating_point(),
              "neighbor_pairs: positions and cell must be floating point");
  TORCH_CHECK(positions.device() == cell.device(),
              "neighbor_pairs: positions and cell must be on the same device");
  TORCH_CHECK(cutoff > 0.0 && std::isfinite(cutoff), "neighbor_pairs: cutoff must be > 0, got ", cutoff);
}

namespace {

// Perpendicular width of the cell along each axis: volume / area of the opposite face.
std::array<double, 3> cell_widths(const std::array<double, 9>& h) {
  auto cross = [&](int a, int b) {
    return std::array<double, 3>{h[3 * a + 1] * h[3 * b + 2] - h[3 * a + 2] * h[3 * b + 1],
                                 h[3 * a + 2] * h[3 * b + 0] - h[3 * a + 0] * h[3 * b + 2],
                                 h[3 * a + 0] * h[3 * b + 1] - h[3 * a + 1] * h[3 * b + 0]};
  };
  auto norm = [](const std::array<double, 3>& v) {
    return std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  };
  const auto bc = cross(1, 2), ca = cross(2, 0), ab = cross(0, 1);
  const double volume = std::abs(h[0] * bc[0] + h[1] * bc[1] + h[2] * bc[2]);
  return {volume / norm(bc), volume / norm(ca), volume / norm(ab)};
}

}  // namespace

BinnedAtoms bin_atoms(const at::Tensor& positions, const at::Tensor& cell,
                      std::array<bool, 3> periodic, double cutoff) {
  const int64_t n_atoms = positions.size(0);
  const auto cell64 = cell.to(at::kDouble).contiguous();
  const auto cell_cpu = cell64.cpu();
  Grid grid;
  grid.periodic = periodic;
  grid.cutoff = cutoff;
  std::copy_n(cell_cpu.data_ptr<double>(), 9, grid.cell.begin());
  const auto width = cell_widths(grid.cell);

  auto frac = at::matmul(positions.to(at::kDouble), at::linalg_inv(cell64));
  auto image = at::zeros({n_atoms, 3}, frac.options().dtype(at::kLong));
  std::array<double, 3> lo{0.0, 0.0, 0.0}, span{1.0, 1.0, 1.0};
  for (int a = 0; a < 3; ++a) {
    auto column = frac.select(1, a);
    if (periodic[a]) {
      auto floor = at::floor(column);
      column.sub_(floor);
      image.select(1, a).copy_(floor.to(at::kLong));
    } else if (n_atoms > 0) {
      lo[a] = column.min().item<double>();
      span[a] = column.max().item<double>() - lo[a];
    }
  }
  // Bins at least `cutoff` wide; a sparse non-periodic system gets coarser bins, never more
  // bins than a small multiple of the atom count.
  const int64_t max_bins = std::max<int64_t>(27, 4 * n_atoms);
  int64_t total = 1;
  for (int a = 0; a < 3; ++a) {
    const double per_axis = std::min<double>(std::floor(span[a] * width[a] / cutoff), max_bins);
    grid.nbins[a] = std::max<int64_t>(1, static_cast<int64_t>(per_axis));
    total *= grid.nbins[a];
  }
  while (total > max_bins) {
    const int a = static_cast<int>(std::max_element(grid.nbins.begin(), grid.nbins.end()) -
                                   grid.nbins.begin());
    total /= grid.nbins[a];
    grid.nbins[a] = std::max<int64_t>(1, grid.nbins[a] / 2);
    total *= grid.nbins[a];
  }

  auto bin = at::empty({n_atoms, 3}, image.options());
  for (int a = 0; a < 3; ++a) {
    const double scale = span[a] > 0.0 ? grid.nbins[a] / span[a] : 0.0;
    bin.select(1, a).copy_(
        at::clamp(at::floor((frac.select(1, a) - lo[a]) * scale), 0, grid.nbins[a] - 1).to(at::kLong));
  }
  const auto flat = (bin.select(1, 2) * grid.nbins[1] + bin.select(1, 1)) * grid.nbins[0] + bin.select(1, 0);
  auto sorted = std::get<1>(at::sort(flat, /*stable=*/true, /*dim=*/0, /*descending=*/false));
  auto count = at::bincount(flat, /*weights=*/{}, /*minlength=*/total);
  auto start = at::cumsum(count, 0) - count;

  auto wrapped = at::matmul(frac, cell64);
  auto sorted_pos = wrapped.index_select(0, sorted).contiguous();
  return BinnedAtoms{grid, wrapped, image, bin, sorted, sorted_pos, start, count};
}

}  // namespace elyte

// Cell-list binning shared by the CPU and CUDA neighbour-list kernels.
//
// Atoms are binned in fractional coordinates of the cell. Along a periodic axis the bins tile
// [0, 1) and are at least `cutoff` wide measured perpendicular to the two other cell vectors, so
// any pair closer than the cutoff sits in the same or an adjacent bin (minimum-image convention:
// the caller guarantees cutoff <= half of every periodic width). Along a non-periodic axis the
// bins tile the atoms' extent.
#pragma once

#include <ATen/ATen.h>

#include <array>

namespace elyte {

struct Grid {
  std::array<int64_t, 3> nbins;   // bins along a, b, c
  std::array<bool, 3> periodic;   // per-axis periodicity
  std::array<double, 9> cell;     // row-major, rows are the cell vectors (Angstrom)
  double cutoff;                  // Angstrom
};

// Binned atoms. All tensors live on the device of the positions.
struct BinnedAtoms {
  Grid grid;
  at::Tensor wrapped;     // [N, 3] float64 Cartesian positions wrapped into the cell
  at::Tensor image;       // [N, 3] int64, original = wrapped + image @ cell
  at::Tensor bin;         // [N, 3] int64 bin index along each axis
  at::Tensor sorted;      // [N] int64 atom indices ordered by flat bin
  at::Tensor sorted_pos;  // [N, 3] float64 wrapped positions in that order (contiguous per bin)
  at::Tensor bin_start;   // [nbins] int64 offset of each bin in `sorted`
  at::Tensor bin_count;   // [nbins] int64 atoms in each bin
};

BinnedAtoms bin_atoms(const at::Tensor& positions, const at::Tensor& cell,
                      std::array<bool, 3> periodic, double cutoff);

void check_neighbor_inputs(const at::Tensor& positions, const at::Tensor& cell, double cutoff);

}  // namespace elyte

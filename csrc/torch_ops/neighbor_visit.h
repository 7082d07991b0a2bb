// The inner loop of the cell-list search, shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define ELYTE_HD __host__ __device__
#else
#define ELYTE_HD
#endif

namespace elyte {

// Raw view of a BinnedAtoms (see neighbor_grid.h) for use inside kernels.
struct GridView {
  int64_t nbins[3];
  bool periodic[3];
  double cell[9];
  double cutoff2;
  const double* wrapped;
  const int64_t* image;
  const int64_t* bin;
  const int64_t* sorted;
  const int64_t* bin_start;
  const int64_t* bin_count;
};

ELYTE_HD inline int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Calls visit(j, shift) for every j > i closer than the cutoff, where shift (3 integers) is the
// lattice translation with r_ij = x_j - x_i + shift @ cell in the caller's (unwrapped) positions.
// Each periodic image is visited once: stencil offsets map one-to-one onto (bin, image) pairs even
// when an axis has only one or two bins.
template <class Visit>
ELYTE_HD inline void visit_neighbors(const GridView& g, int64_t i, Visit&& visit) {
  const double* xi = g.wrapped + 3 * i;
  const int64_t* bi = g.bin + 3 * i;
  for (int dz = -1; dz <= 1; ++dz) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const int d[3] = {dx, dy, dz};
        int64_t nb[3], s[3];
        bool outside = false;
        for (int a = 0; a < 3; ++a) {
          const int64_t c = bi[a] + d[a];
          if (g.periodic[a]) {
            s[a] = floor_div(c, g.nbins[a]);
            nb[a] = c - s[a] * g.nbins[a];
          } else {
            outside = outside || c < 0 || c >= g.nbins[a];
            s[a] = 0;
            nb[a] = c;
          }
        }
        if (outside) continue;
        double t[3];
        for (int a = 0; a < 3; ++a) {
          t[a] = s[0] * g.cell[a] + s[1] * g.cell[3 + a] + s[2] * g.cell[6 + a];
        }
        const int64_t flat = (nb[2] * g.nbins[1] + nb[1]) * g.nbins[0] + nb[0];
        const int64_t begin = g.bin_start[flat], end = begin + g.bin_count[flat];
        for (int64_t k = begin; k < end; ++k) {
          const int64_t j = g.sorted[k];
          if (j <= i) continue;
          const double* xj = g.wrapped + 3 * j;
          const double rx = xj[0] + t[0] - xi[0], ry = xj[1] + t[1] - xi[1], rz = xj[2] + t[2] - xi[2];
          if (rx * rx + ry * ry + rz * rz < g.cutoff2) {
            const int64_t* ii = g.image + 3 * i;
            const int64_t* ij = g.image + 3 * j;
            const int64_t shift[3] = {s[0] + ii[0] - ij[0], s[1] + ii[1] - ij[1], s[2] + ii[2] - ij[2]};
            visit(j, shift);
          }
        }
      }
    }
  }
}

}  // namespace elyte

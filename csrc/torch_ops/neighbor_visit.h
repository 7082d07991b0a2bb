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
  const double* sorted_pos;
  const int64_t* bin_start;
  const int64_t* bin_count;
};

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
          const int64_t c = bi[a] + d[a];  // in [-1, nbins]: wrap without a division
          if (g.periodic[a]) {
            s[a] = c < 0 ? -1 : (c >= g.nbins[a] ? 1 : 0);
            nb[a] = c - s[a] * g.nbins[a];
          } else {
            outside = outside || c < 0 || c >= g.nbins[a];
            s[a] = 0;
            nb[a] = c;
          }
        }
        if (outside) continue;
        // translation of the neighbour bin's image, minus x_i, hoisted out of the atom loop
        double o[3];
        for (int a = 0; a < 3; ++a) {
          o[a] = s[0] * g.cell[a] + s[1] * g.cell[3 + a] + s[2] * g.cell[6 + a] - xi[a];
        }
        const int64_t flat = (nb[2] * g.nbins[1] + nb[1]) * g.nbins[0] + nb[0];
        // Within a bin atoms are in ascending index (stable sort), so the j > i are a suffix.
        int64_t begin = g.bin_start[flat];
        const int64_t end = begin + g.bin_count[flat];
        for (int64_t hi = end; begin < hi;) {
          const int64_t mid = begin + (hi - begin) / 2;
          if (g.sorted[mid] <= i) begin = mid + 1; else hi = mid;
        }
        // locals: the visitor writes memory, which would otherwise force reloads of g's fields
        const double* const pos = g.sorted_pos;
        const double cutoff2 = g.cutoff2, o0 = o[0], o1 = o[1], o2 = o[2];
        for (int64_t k = begin; k < end; ++k) {
          const double rx = pos[3 * k] + o0, ry = pos[3 * k + 1] + o1, rz = pos[3 * k + 2] + o2;
          if (rx * rx + ry * ry + rz * rz >= cutoff2) continue;  // most candidates end here
          const int64_t j = g.sorted[k];
          {
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

// The per-edge, per-feature algebra of the fused edge messages (see edge_messages.h), shared by the
// CPU and CUDA kernels. `add(offset, value)` accumulates into a row (the receiver's output row in the
// forward pass, the sender's gradient row in the backward pass): plain += on the CPU, atomicAdd on
// the GPU.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define ELYTE_HOST_DEVICE __host__ __device__
#else
#define ELYTE_HOST_DEVICE
#endif

namespace elyte {

constexpr int message_forms(int lmax) { return lmax == 1 ? 4 : 9; }

// Messages of feature f of one edge: g is the sender's nodes row, R the edge's radial weights, u its
// unit vector; adds ds, dv_a, dt_ab at offsets f, (1 + a) F + f, (4 + 3 a + b) F + f.
template <typename T, int LMAX, typename Add>
ELYTE_HOST_DEVICE inline void message_forward(const T* g, const T* R, const T* u, int64_t F, int64_t f, Add add) {
  const int64_t kF = message_forms(LMAX) * F;
  T c[9];
  for (int m = 0; m < message_forms(LMAX); m++) c[m] = R[m * F + f] * g[m * F + f];
  const T v[3] = {g[kF + f], g[kF + F + f], g[kF + 2 * F + f]};
  T ds = c[0] + c[1] * (v[0] * u[0] + v[1] * u[1] + v[2] * u[2]);
  T dv[3] = {c[2] * u[0] + c[3] * v[0], c[2] * u[1] + c[3] * v[1], c[2] * u[2] + c[3] * v[2]};
  if constexpr (LMAX == 2) {
    T t[9];
    for (int ab = 0; ab < 9; ab++) t[ab] = g[kF + 3 * F + ab * F + f];
    T tu[3];
    for (int a = 0; a < 3; a++) tu[a] = t[3 * a] * u[0] + t[3 * a + 1] * u[1] + t[3 * a + 2] * u[2];
    ds += c[4] * (tu[0] * u[0] + tu[1] * u[1] + tu[2] * u[2]);
    for (int a = 0; a < 3; a++) {
      dv[a] += c[5] * tu[a];
      const T w = c[6] * u[a] + c[8] * v[a];
      for (int b = 0; b < 3; b++) add((4 + 3 * a + b) * F + f, w * u[b] + c[7] * t[3 * a + b]);
    }
  }
  add(f, ds);
  for (int a = 0; a < 3; a++) add((1 + a) * F + f, dv[a]);
}

// Gradients of feature f of one edge, given the receiver's output gradient row go: adds d/dnodes to
// the sender's row through add_node, writes d/dradial into gr (the edge's row), adds d/du into du.
template <typename T, int LMAX, typename Add>
ELYTE_HOST_DEVICE inline void message_backward(const T* go, const T* g, const T* R, const T* u, int64_t F, int64_t f,
                                               Add add_node, T* gr, T* du) {
  const int64_t kF = message_forms(LMAX) * F;
  T c[9], dc[9];
  for (int m = 0; m < message_forms(LMAX); m++) c[m] = R[m * F + f] * g[m * F + f];
  const T v[3] = {g[kF + f], g[kF + F + f], g[kF + 2 * F + f]};
  const T gs = go[f], gv[3] = {go[F + f], go[2 * F + f], go[3 * F + f]};
  dc[0] = gs;
  dc[1] = gs * (v[0] * u[0] + v[1] * u[1] + v[2] * u[2]);
  dc[2] = gv[0] * u[0] + gv[1] * u[1] + gv[2] * u[2];
  dc[3] = gv[0] * v[0] + gv[1] * v[1] + gv[2] * v[2];
  T dv[3];
  for (int a = 0; a < 3; a++) {
    dv[a] = gs * c[1] * u[a] + gv[a] * c[3];
    du[a] += gs * c[1] * v[a] + gv[a] * c[2];
  }
  if constexpr (LMAX == 2) {
    T t[9], gt[9], tu[3], w[3], dw[3], dtu[3];
    for (int ab = 0; ab < 9; ab++) {
      t[ab] = g[kF + 3 * F + ab * F + f];
      gt[ab] = go[(4 + ab) * F + f];
    }
    for (int a = 0; a < 3; a++) {
      tu[a] = t[3 * a] * u[0] + t[3 * a + 1] * u[1] + t[3 * a + 2] * u[2];
      w[a] = c[6] * u[a] + c[8] * v[a];
      dw[a] = gt[3 * a] * u[0] + gt[3 * a + 1] * u[1] + gt[3 * a + 2] * u[2];
      dtu[a] = gs * c[4] * u[a] + gv[a] * c[5];
    }
    dc[4] = gs * (tu[0] * u[0] + tu[1] * u[1] + tu[2] * u[2]);
    dc[5] = gv[0] * tu[0] + gv[1] * tu[1] + gv[2] * tu[2];
    dc[6] = dw[0] * u[0] + dw[1] * u[1] + dw[2] * u[2];
    dc[8] = dw[0] * v[0] + dw[1] * v[1] + dw[2] * v[2];
    dc[7] = 0;
    for (int ab = 0; ab < 9; ab++) dc[7] += gt[ab] * t[ab];
    for (int a = 0; a < 3; a++) {
      dv[a] += c[8] * dw[a];
      du[a] += gs * c[4] * tu[a] + dw[a] * c[6];
      for (int b = 0; b < 3; b++) {
        // d/du_b of (T u)_a and of w_a u_b
        du[b] += dtu[a] * t[3 * a + b] + gt[3 * a + b] * w[a];
        add_node(kF + 3 * F + (3 * a + b) * F + f, dtu[a] * u[b] + c[7] * gt[3 * a + b]);
      }
    }
  }
  for (int m = 0; m < message_forms(LMAX); m++) {
    add_node(m * F + f, dc[m] * R[m * F + f]);
    gr[m * F + f] = dc[m] * g[m * F + f];
  }
  for (int a = 0; a < 3; a++) add_node(kF + a * F + f, dv[a]);
}

}  // namespace elyte

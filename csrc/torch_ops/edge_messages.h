// Fused equivariant edge messages of mlff's Interaction (mlff/model/layers.py), forward and backward.
//
// Edge e = (i, j) with unit vector u_e (j seen from i). Atom j's gathered row of `nodes` holds the
// channel-mapped scalars A [k F] (k = 4 forms for lmax 1, 9 for lmax 2), vectors V [3 F] and, for
// lmax 2, matrices T [9 F]; `radial` [E, k F] are the radial weights R. With c_m = R_m A_m:
//   ds    = c0 + c1 (V.u) [+ c4 (T u).u]
//   dv_a  = c2 u_a + c3 V_a [+ c5 (T u)_a]
//   dt_ab = (c6 u_a + c8 V_a) u_b + c7 T_ab                    (lmax 2)
// summed into receiver i: out [N, (1 + 3 (+ 9)) F]. Feature blocks are contiguous per component
// (V_a at k F + a F, T_ab at k F + 3 F + (3 a + b) F), as the reference's views. One pass over the
// edges with per-thread accumulators: no [E, ...] temporaries beyond the outputs the backward needs.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace elyte {

struct EdgeMessageShapes {
  int64_t n_atoms, n_edges, features, forms, width_in, width_out;
};

// Checks the inputs (shapes, dtypes, lmax) and returns their sizes; throws a c10::Error naming the problem.
EdgeMessageShapes check_edge_messages(const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
                                      const at::Tensor& radial, int64_t lmax);

at::Tensor edge_messages_cpu(const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
                             const at::Tensor& radial, int64_t lmax);

// Gradients of sum(grad_out * out) with respect to nodes [N, W_in], u [E, 3] and radial [E, k F].
std::tuple<at::Tensor, at::Tensor, at::Tensor> edge_messages_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
    const at::Tensor& radial, int64_t lmax);
at::Tensor edge_messages_cuda(const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
                              const at::Tensor& radial, int64_t lmax);
std::tuple<at::Tensor, at::Tensor, at::Tensor> edge_messages_backward_cuda(
    const at::Tensor& grad_out, const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
    const at::Tensor& radial, int64_t lmax);

}  // namespace elyte

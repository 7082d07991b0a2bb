// CPU kernels of the fused edge messages (see edge_messages.h for the algebra).
#include "torch_ops/edge_messages.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

namespace elyte {
namespace {

constexpr int64_t kGrain = 2048;  // edges per parallel task

struct Shapes {
  int64_t n_atoms, n_edges, features, forms, width_in, width_out;
};

Shapes check(const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u, const at::Tensor& radial,
             int64_t lmax) {
  TORCH_CHECK(lmax == 1 || lmax == 2, "edge_messages: lmax must be 1 or 2, got ", lmax);
  TORCH_CHECK(nodes.dim() == 2 && radial.dim() == 2 && u.dim() == 2 && u.size(1) == 3,
              "edge_messages: nodes [N, W], radial [E, k F] and u [E, 3] expected");
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == at::kLong,
              "edge_messages: edge_index must be [2, E] int64");
  const int64_t forms = lmax == 1 ? 4 : 9;
  const int64_t features = radial.size(1) / forms;
  const int64_t width_in = (forms + 3 + (lmax == 2 ? 9 : 0)) * features;
  TORCH_CHECK(radial.size(1) == forms * features && nodes.size(1) == width_in,
              "edge_messages: nodes width ", nodes.size(1), " and radial width ", radial.size(1),
              " do not match lmax ", lmax);
  TORCH_CHECK(radial.size(0) == edge_index.size(1) && u.size(0) == edge_index.size(1),
              "edge_messages: radial, u and edge_index disagree on the number of edges");
  TORCH_CHECK(nodes.scalar_type() == radial.scalar_type() && nodes.scalar_type() == u.scalar_type(),
              "edge_messages: nodes, u and radial must share a dtype");
  return {nodes.size(0), edge_index.size(1), features, forms, width_in, (lmax == 2 ? 13 : 4) * features};
}

// Sum over per-thread partial results [T, N, W] -> [N, W].
at::Tensor reduce(const at::Tensor& partial) { return partial.size(0) == 1 ? partial[0] : partial.sum(0); }

template <typename T, int LMAX>
void forward(const Shapes& s, const T* nodes, const int64_t* edges, const T* u, const T* radial, T* partial) {
  const int64_t F = s.features, kF = s.forms * F;
  at::parallel_for(0, s.n_edges, kGrain, [&](int64_t first, int64_t last) {
    T* acc = partial + at::get_thread_num() * s.n_atoms * s.width_out;
    for (int64_t e = first; e < last; e++) {
      const int64_t i = edges[e], j = edges[s.n_edges + e];
      const T* g = nodes + j * s.width_in;
      const T* R = radial + e * kF;
      const T u0 = u[3 * e], u1 = u[3 * e + 1], u2 = u[3 * e + 2];
      T* o = acc + i * s.width_out;
      for (int64_t f = 0; f < F; f++) {
        const T c0 = R[f] * g[f], c1 = R[F + f] * g[F + f], c2 = R[2 * F + f] * g[2 * F + f],
                c3 = R[3 * F + f] * g[3 * F + f];
        const T v0 = g[kF + f], v1 = g[kF + F + f], v2 = g[kF + 2 * F + f];
        T ds = c0 + c1 * (v0 * u0 + v1 * u1 + v2 * u2);
        T d0 = c2 * u0 + c3 * v0, d1 = c2 * u1 + c3 * v1, d2 = c2 * u2 + c3 * v2;
        if constexpr (LMAX == 2) {
          const T* t = g + kF + 3 * F + f;
          const T c4 = R[4 * F + f] * g[4 * F + f], c5 = R[5 * F + f] * g[5 * F + f],
                  c6 = R[6 * F + f] * g[6 * F + f], c7 = R[7 * F + f] * g[7 * F + f],
                  c8 = R[8 * F + f] * g[8 * F + f];
          T tm[9];
          for (int ab = 0; ab < 9; ab++) tm[ab] = t[ab * F];
          const T tu0 = tm[0] * u0 + tm[1] * u1 + tm[2] * u2, tu1 = tm[3] * u0 + tm[4] * u1 + tm[5] * u2,
                  tu2 = tm[6] * u0 + tm[7] * u1 + tm[8] * u2;
          ds += c4 * (tu0 * u0 + tu1 * u1 + tu2 * u2);
          d0 += c5 * tu0;
          d1 += c5 * tu1;
          d2 += c5 * tu2;
          const T w[3] = {c6 * u0 + c8 * v0, c6 * u1 + c8 * v1, c6 * u2 + c8 * v2};
          const T uu[3] = {u0, u1, u2};
          for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) o[(4 + 3 * a + b) * F + f] += w[a] * uu[b] + c7 * tm[3 * a + b];
        }
        o[f] += ds;
        o[F + f] += d0;
        o[2 * F + f] += d1;
        o[3 * F + f] += d2;
      }
    }
  });
}

template <typename T, int LMAX>
void backward(const Shapes& s, const T* grad_out, const T* nodes, const int64_t* edges, const T* u, const T* radial,
              T* partial, T* grad_u, T* grad_radial) {
  const int64_t F = s.features, kF = s.forms * F;
  at::parallel_for(0, s.n_edges, kGrain, [&](int64_t first, int64_t last) {
    T* acc = partial + at::get_thread_num() * s.n_atoms * s.width_in;
    for (int64_t e = first; e < last; e++) {
      const int64_t i = edges[e], j = edges[s.n_edges + e];
      const T* g = nodes + j * s.width_in;
      const T* R = radial + e * kF;
      const T* go = grad_out + i * s.width_out;
      T* gn = acc + j * s.width_in;
      T* gr = grad_radial + e * kF;
      const T uu[3] = {u[3 * e], u[3 * e + 1], u[3 * e + 2]};
      T du[3] = {0, 0, 0};
      for (int64_t f = 0; f < F; f++) {
        T c[9], dc[9];
        for (int m = 0; m < s.forms; m++) c[m] = R[m * F + f] * g[m * F + f];
        const T v[3] = {g[kF + f], g[kF + F + f], g[kF + 2 * F + f]};
        const T gs = go[f], gv[3] = {go[F + f], go[2 * F + f], go[3 * F + f]};
        const T vu = v[0] * uu[0] + v[1] * uu[1] + v[2] * uu[2];
        dc[0] = gs;
        dc[1] = gs * vu;
        dc[2] = gv[0] * uu[0] + gv[1] * uu[1] + gv[2] * uu[2];
        dc[3] = gv[0] * v[0] + gv[1] * v[1] + gv[2] * v[2];
        T dv[3];
        for (int a = 0; a < 3; a++) {
          dv[a] = gs * c[1] * uu[a] + gv[a] * c[3];
          du[a] += gs * c[1] * v[a] + gv[a] * c[2];
        }
        if constexpr (LMAX == 2) {
          const T* t = g + kF + 3 * F + f;
          T tm[9], gt[9];
          for (int ab = 0; ab < 9; ab++) {
            tm[ab] = t[ab * F];
            gt[ab] = go[(4 + ab) * F + f];
          }
          T tu[3], w[3], dw[3], dtu[3];
          for (int a = 0; a < 3; a++) {
            tu[a] = tm[3 * a] * uu[0] + tm[3 * a + 1] * uu[1] + tm[3 * a + 2] * uu[2];
            w[a] = c[6] * uu[a] + c[8] * v[a];
            dw[a] = gt[3 * a] * uu[0] + gt[3 * a + 1] * uu[1] + gt[3 * a + 2] * uu[2];
            dtu[a] = gs * c[4] * uu[a] + gv[a] * c[5];
          }
          dc[4] = gs * (tu[0] * uu[0] + tu[1] * uu[1] + tu[2] * uu[2]);
          dc[5] = gv[0] * tu[0] + gv[1] * tu[1] + gv[2] * tu[2];
          dc[6] = dw[0] * uu[0] + dw[1] * uu[1] + dw[2] * uu[2];
          dc[8] = dw[0] * v[0] + dw[1] * v[1] + dw[2] * v[2];
          dc[7] = 0;
          for (int ab = 0; ab < 9; ab++) dc[7] += gt[ab] * tm[ab];
          for (int a = 0; a < 3; a++) {
            dv[a] += c[8] * dw[a];
            du[a] += gs * c[4] * tu[a] + dw[a] * c[6];
            for (int b = 0; b < 3; b++) {
              // d/du_b of (T u)_a, of w_a u_b
              du[b] += dtu[a] * tm[3 * a + b] + gt[3 * a + b] * w[a];
              gn[kF + 3 * F + (3 * a + b) * F + f] += dtu[a] * uu[b] + c[7] * gt[3 * a + b];
            }
          }
        }
        for (int m = 0; m < s.forms; m++) {
          gn[m * F + f] += dc[m] * R[m * F + f];
          gr[m * F + f] = dc[m] * g[m * F + f];
        }
        for (int a = 0; a < 3; a++) gn[kF + a * F + f] += dv[a];
      }
      for (int a = 0; a < 3; a++) grad_u[3 * e + a] = du[a];
    }
  });
}

}  // namespace

at::Tensor edge_messages_cpu(const at::Tensor& nodes_in, const at::Tensor& edge_index_in, const at::Tensor& u_in,
                             const at::Tensor& radial_in, int64_t lmax) {
  const Shapes s = check(nodes_in, edge_index_in, u_in, radial_in, lmax);
  const at::Tensor nodes = nodes_in.contiguous(), edges = edge_index_in.contiguous(), u = u_in.contiguous(),
                   radial = radial_in.contiguous();
  at::Tensor partial = at::zeros({at::get_num_threads(), s.n_atoms, s.width_out}, nodes.options());
  AT_DISPATCH_FLOATING_TYPES(nodes.scalar_type(), "edge_messages_cpu", [&] {
    auto run = lmax == 1 ? forward<scalar_t, 1> : forward<scalar_t, 2>;
    run(s, nodes.data_ptr<scalar_t>(), edges.data_ptr<int64_t>(), u.data_ptr<scalar_t>(), radial.data_ptr<scalar_t>(),
        partial.data_ptr<scalar_t>());
  });
  return reduce(partial);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> edge_messages_backward_cpu(
    const at::Tensor& grad_out_in, const at::Tensor& nodes_in, const at::Tensor& edge_index_in, const at::Tensor& u_in,
    const at::Tensor& radial_in, int64_t lmax) {
  const Shapes s = check(nodes_in, edge_index_in, u_in, radial_in, lmax);
  TORCH_CHECK(grad_out_in.dim() == 2 && grad_out_in.size(0) == s.n_atoms && grad_out_in.size(1) == s.width_out,
              "edge_messages_backward: grad_out must be [N, ", s.width_out, "]");
  const at::Tensor grad_out = grad_out_in.contiguous().to(nodes_in.scalar_type()), nodes = nodes_in.contiguous(),
                   edges = edge_index_in.contiguous(), u = u_in.contiguous(), radial = radial_in.contiguous();
  at::Tensor partial = at::zeros({at::get_num_threads(), s.n_atoms, s.width_in}, nodes.options());
  at::Tensor grad_u = at::empty_like(u), grad_radial = at::empty_like(radial);
  AT_DISPATCH_FLOATING_TYPES(nodes.scalar_type(), "edge_messages_backward_cpu", [&] {
    auto run = lmax == 1 ? backward<scalar_t, 1> : backward<scalar_t, 2>;
    run(s, grad_out.data_ptr<scalar_t>(), nodes.data_ptr<scalar_t>(), edges.data_ptr<int64_t>(),
        u.data_ptr<scalar_t>(), radial.data_ptr<scalar_t>(), partial.data_ptr<scalar_t>(),
        grad_u.data_ptr<scalar_t>(), grad_radial.data_ptr<scalar_t>());
  });
  return {reduce(partial), grad_u, grad_radial};
}

}  // namespace elyte

// CPU kernels of the fused edge messages (see edge_messages.h for the algebra).
#include "torch_ops/edge_messages.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include "torch_ops/edge_messages_math.h"

namespace elyte {

EdgeMessageShapes check_edge_messages(const at::Tensor& nodes, const at::Tensor& edge_index, const at::Tensor& u,
                                      const at::Tensor& radial, int64_t lmax) {
  TORCH_CHECK(lmax == 1 || lmax == 2, "edge_messages: lmax must be 1 or 2, got ", lmax);
  TORCH_CHECK(nodes.dim() == 2 && radial.dim() == 2 && u.dim() == 2 && u.size(1) == 3,
              "edge_messages: nodes [N, W], radial [E, k F] and u [E, 3] expected");
  TORCH_CHECK(edge_index.dim() == 2 && edge_index.size(0) == 2 && edge_index.scalar_type() == at::kLong,
              "edge_messages: edge_index must be [2, E] int64");
  const int64_t forms = message_forms(static_cast<int>(lmax));
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

namespace {

constexpr int64_t kGrain = 2048;  // edges per parallel task

using Shapes = EdgeMessageShapes;

// Sum over per-thread partial results [T, N, W] -> [N, W].
at::Tensor reduce(const at::Tensor& partial) { return partial.size(0) == 1 ? partial[0] : partial.sum(0); }

template <typename T, int LMAX>
void forward(const Shapes& s, const T* nodes, const int64_t* edges, const T* u, const T* radial, T* partial) {
  at::parallel_for(0, s.n_edges, kGrain, [&](int64_t first, int64_t last) {
    T* acc = partial + at::get_thread_num() * s.n_atoms * s.width_out;
    for (int64_t e = first; e < last; e++) {
      T* o = acc + edges[e] * s.width_out;
      const T* g = nodes + edges[s.n_edges + e] * s.width_in;
      for (int64_t f = 0; f < s.features; f++)
        message_forward<T, LMAX>(g, radial + e * s.forms * s.features, u + 3 * e, s.features, f,
                                 [o](int64_t k, T value) { o[k] += value; });
    }
  });
}

template <typename T, int LMAX>
void backward(const Shapes& s, const T* grad_out, const T* nodes, const int64_t* edges, const T* u, const T* radial,
              T* partial, T* grad_u, T* grad_radial) {
  at::parallel_for(0, s.n_edges, kGrain, [&](int64_t first, int64_t last) {
    T* acc = partial + at::get_thread_num() * s.n_atoms * s.width_in;
    for (int64_t e = first; e < last; e++) {
      const int64_t j = edges[s.n_edges + e];
      T* gn = acc + j * s.width_in;
      T du[3] = {0, 0, 0};
      for (int64_t f = 0; f < s.features; f++)
        message_backward<T, LMAX>(grad_out + edges[e] * s.width_out, nodes + j * s.width_in,
                                  radial + e * s.forms * s.features, u + 3 * e, s.features, f,
                                  [gn](int64_t k, T value) { gn[k] += value; }, grad_radial + e * s.forms * s.features,
                                  du);
      for (int a = 0; a < 3; a++) grad_u[3 * e + a] = du[a];
    }
  });
}

}  // namespace

at::Tensor edge_messages_cpu(const at::Tensor& nodes_in, const at::Tensor& edge_index_in, const at::Tensor& u_in,
                             const at::Tensor& radial_in, int64_t lmax) {
  const Shapes s = check_edge_messages(nodes_in, edge_index_in, u_in, radial_in, lmax);
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
  const Shapes s = check_edge_messages(nodes_in, edge_index_in, u_in, radial_in, lmax);
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

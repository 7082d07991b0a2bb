// CUDA kernels of the fused edge messages: one thread per (edge, feature), the per-feature algebra of
// edge_messages_math.h shared with the CPU kernels, sums into rows by atomicAdd.
#include <ATen/Dispatch.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "torch_ops/edge_messages.h"
#include "torch_ops/edge_messages_math.h"

namespace elyte {
namespace {

constexpr int kThreads = 256;

template <typename T, int LMAX>
__global__ void forward_kernel(EdgeMessageShapes s, const T* nodes, const int64_t* edges, const T* u, const T* radial,
                               T* out) {
  const int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (index >= s.n_edges * s.features) return;
  const int64_t e = index / s.features, f = index % s.features;
  T* o = out + edges[e] * s.width_out;
  message_forward<T, LMAX>(nodes + edges[s.n_edges + e] * s.width_in, radial + e * s.forms * s.features, u + 3 * e,
                           s.features, f, [o](int64_t k, T value) { atomicAdd(o + k, value); });
}

template <typename T, int LMAX>
__global__ void backward_kernel(EdgeMessageShapes s, const T* grad_out, const T* nodes, const int64_t* edges,
                                const T* u, const T* radial, T* grad_nodes, T* grad_u, T* grad_radial) {
  const int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (index >= s.n_edges * s.features) return;
  const int64_t e = index / s.features, f = index % s.features;
  const int64_t j = edges[s.n_edges + e];
  T* gn = grad_nodes + j * s.width_in;
  T du[3] = {0, 0, 0};
  message_backward<T, LMAX>(grad_out + edges[e] * s.width_out, nodes + j * s.width_in,
                            radial + e * s.forms * s.features, u + 3 * e, s.features, f,
                            [gn](int64_t k, T value) { atomicAdd(gn + k, value); },
                            grad_radial + e * s.forms * s.features, du);
  for (int a = 0; a < 3; a++) atomicAdd(grad_u + 3 * e + a, du[a]);
}

int blocks(const EdgeMessageShapes& s) {
  return static_cast<int>((s.n_edges * s.features + kThreads - 1) / kThreads);
}

}  // namespace

at::Tensor edge_messages_cuda(const at::Tensor& nodes_in, const at::Tensor& edge_index_in, const at::Tensor& u_in,
                              const at::Tensor& radial_in, int64_t lmax) {
  const EdgeMessageShapes s = check_edge_messages(nodes_in, edge_index_in, u_in, radial_in, lmax);
  const c10::cuda::CUDAGuard guard(nodes_in.device());
  const at::Tensor nodes = nodes_in.contiguous(), edges = edge_index_in.contiguous(), u = u_in.contiguous(),
                   radial = radial_in.contiguous();
  at::Tensor out = at::zeros({s.n_atoms, s.width_out}, nodes.options());
  if (s.n_edges == 0) return out;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(nodes.scalar_type(), "edge_messages_cuda", [&] {
    auto kernel = lmax == 1 ? forward_kernel<scalar_t, 1> : forward_kernel<scalar_t, 2>;
    kernel<<<blocks(s), kThreads, 0, stream>>>(s, nodes.data_ptr<scalar_t>(), edges.data_ptr<int64_t>(),
                                               u.data_ptr<scalar_t>(), radial.data_ptr<scalar_t>(),
                                               out.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> edge_messages_backward_cuda(
    const at::Tensor& grad_out_in, const at::Tensor& nodes_in, const at::Tensor& edge_index_in, const at::Tensor& u_in,
    const at::Tensor& radial_in, int64_t lmax) {
  const EdgeMessageShapes s = check_edge_messages(nodes_in, edge_index_in, u_in, radial_in, lmax);
  TORCH_CHECK(grad_out_in.dim() == 2 && grad_out_in.size(0) == s.n_atoms && grad_out_in.size(1) == s.width_out,
              "edge_messages_backward: grad_out must be [N, ", s.width_out, "]");
  const c10::cuda::CUDAGuard guard(nodes_in.device());
  const at::Tensor grad_out = grad_out_in.contiguous().to(nodes_in.scalar_type()), nodes = nodes_in.contiguous(),
                   edges = edge_index_in.contiguous(), u = u_in.contiguous(), radial = radial_in.contiguous();
  at::Tensor grad_nodes = at::zeros_like(nodes), grad_u = at::zeros_like(u), grad_radial = at::empty_like(radial);
  if (s.n_edges == 0) return {grad_nodes, grad_u, grad_radial};
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(nodes.scalar_type(), "edge_messages_backward_cuda", [&] {
    auto kernel = lmax == 1 ? backward_kernel<scalar_t, 1> : backward_kernel<scalar_t, 2>;
    kernel<<<blocks(s), kThreads, 0, stream>>>(s, grad_out.data_ptr<scalar_t>(), nodes.data_ptr<scalar_t>(),
                                               edges.data_ptr<int64_t>(), u.data_ptr<scalar_t>(),
                                               radial.data_ptr<scalar_t>(), grad_nodes.data_ptr<scalar_t>(),
                                               grad_u.data_ptr<scalar_t>(), grad_radial.data_ptr<scalar_t>());
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return {grad_nodes, grad_u, grad_radial};
}

}  // namespace elyte

TORCH_LIBRARY_IMPL(elyte, CUDA, m) {
  m.impl("edge_messages", &elyte::edge_messages_cuda);
  m.impl("edge_messages_backward", &elyte::edge_messages_backward_cuda);
}

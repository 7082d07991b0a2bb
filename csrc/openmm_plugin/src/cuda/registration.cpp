// Entry point of the CUDA library of the polarization plugin (libelyte_openmm_cuda.so).

#include "../common/ComputeKernelFactory.h"
#include "openmm/cuda/CudaContext.h"

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    elyte::registerComputeKernelFactory<OpenMM::CudaPlatform>("CUDA");
}

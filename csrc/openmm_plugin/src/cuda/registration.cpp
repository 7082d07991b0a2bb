// Entry point of the CUDA library of the polarization plugin (libelyte_openmm_cuda.so).

#include "../common/ComputeKernelFactory.h"
#include "openmm/cuda/CudaContext.h"

// OpenMM looks this up in every plugin library it loads, and without it would find the platform
// library's own (a dependency of this one) and register a second platform of the same name.
extern "C" OPENMM_EXPORT void registerPlatforms() {}

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    elyte::registerComputeKernelFactory<OpenMM::CudaPlatform>("CUDA");
}

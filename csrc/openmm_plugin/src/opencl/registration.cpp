// Entry point of the OpenCL library of the polarization plugin (libelyte_openmm_opencl.so).

#include "../common/ComputeKernelFactory.h"
#include "openmm/opencl/OpenCLContext.h"

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    elyte::registerComputeKernelFactory<OpenMM::OpenCLPlatform>("OpenCL");
}

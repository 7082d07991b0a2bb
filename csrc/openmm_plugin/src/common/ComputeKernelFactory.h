#ifndef ELYTE_COMPUTE_KERNEL_FACTORY_H_
#define ELYTE_COMPUTE_KERNEL_FACTORY_H_

// The kernel factory of one compute platform (CUDA or OpenCL): ``Platform`` names the OpenMM
// platform class, whose PlatformData holds the context's ComputeContext.

#include <string>

#include "CommonPolarizationKernel.h"
#include "openmm/KernelFactory.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"

namespace elyte {

template <class Platform>
class ComputeKernelFactory : public OpenMM::KernelFactory {
public:
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl& context) const override {
        auto& data = *static_cast<typename Platform::PlatformData*>(context.getPlatformData());
        if (name == CalcPolarizationForceKernel::Name())
            return new CommonCalcPolarizationForceKernel(name, platform, *data.contexts[0]);
        throw OpenMM::OpenMMException("elyte polarization plugin: no kernel named " + name);
    }
};

// Register the factory with ``platformName`` when that platform is loaded (else do nothing).
template <class Platform>
void registerComputeKernelFactory(const std::string& platformName) {
    for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); i++) {
        OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
        if (platform.getName() == platformName)
            platform.registerKernelFactory(CalcPolarizationForceKernel::Name(), new ComputeKernelFactory<Platform>());
    }
}

}  // namespace elyte

#endif

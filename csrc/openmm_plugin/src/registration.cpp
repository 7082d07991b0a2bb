// Plugin entry points: OpenMM calls registerKernelFactories() when the library is loaded with
// Platform::loadPluginLibrary (or from its plugin directory); the serialization proxy registers
// itself as soon as the library is loaded.

#include "PolarizationKernels.h"
#include "openmm/Platform.h"
#include "openmm/reference/ReferencePlatform.h"

namespace elyte {
void registerPolarizationSerializationProxy();
}

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    // the Reference kernel serves every platform built on the Reference platform's data (CPU too)
    for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); i++) {
        OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
        if (dynamic_cast<OpenMM::ReferencePlatform*>(&platform) != nullptr)
            platform.registerKernelFactory(elyte::CalcPolarizationForceKernel::Name(), new elyte::PolarizationKernelFactory());
    }
}

namespace {
struct SerializationRegistration {
    SerializationRegistration() { elyte::registerPolarizationSerializationProxy(); }
} registration;
}  // namespace

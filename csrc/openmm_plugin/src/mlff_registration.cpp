// Entry points of the mlff plugin library (separate from the polarization plugin because it links
// libtorch): kernel factories for the platforms built on the Reference platform's data, and the
// serialization proxy as soon as the library is loaded.

#include "MLFFKernels.h"
#include "openmm/Platform.h"
#include "openmm/reference/ReferencePlatform.h"

namespace elyte {
void registerMLFFSerializationProxy();
}

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); i++) {
        OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
        if (dynamic_cast<OpenMM::ReferencePlatform*>(&platform) != nullptr)
            platform.registerKernelFactory(elyte::CalcMLFFForceKernel::Name(), new elyte::MLFFKernelFactory());
    }
}

namespace {
struct SerializationRegistration {
    SerializationRegistration() { elyte::registerMLFFSerializationProxy(); }
} registration;
}  // namespace

#ifndef ELYTE_POLARIZATION_KERNELS_H_
#define ELYTE_POLARIZATION_KERNELS_H_

#include <string>
#include <vector>

#include "elyte/PolarizationForce.h"
#include "openmm/KernelImpl.h"
#include "openmm/System.h"
#include "openmm/Vec3.h"

namespace elyte {

/** Platform kernel of PolarizationForce: solve the induced dipoles, add energy and forces. */
class CalcPolarizationForceKernel : public OpenMM::KernelImpl {
public:
    static std::string Name() { return "ElyteCalcPolarizationForce"; }
    CalcPolarizationForceKernel(std::string name, const OpenMM::Platform& platform) : KernelImpl(name, platform) {}
    virtual void initialize(const OpenMM::System& system, const PolarizationForce& force) = 0;
    /** Add forces to the context's force array; return the energy (kJ/mol). */
    virtual double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) = 0;
    virtual void getInducedDipoles(OpenMM::ContextImpl& context, std::vector<OpenMM::Vec3>& dipoles) = 0;
    virtual void copyParametersToContext(OpenMM::ContextImpl& context, const PolarizationForce& force) = 0;
};

}  // namespace elyte

#endif

#ifndef ELYTE_MLFF_KERNELS_H_
#define ELYTE_MLFF_KERNELS_H_

#include <string>

#include "elyte/MLFFForce.h"
#include "openmm/KernelImpl.h"
#include "openmm/System.h"

namespace elyte {

class CalcMLFFForceKernel : public OpenMM::KernelImpl {
public:
    static std::string Name() { return "ElyteCalcMLFFForce"; }
    CalcMLFFForceKernel(std::string name, const OpenMM::Platform& platform) : KernelImpl(name, platform) {}
    virtual void initialize(const OpenMM::System& system, const MLFFForce& force) = 0;
    /** Add the model's forces to the context's force array; return its energy (kJ/mol). */
    virtual double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) = 0;
};

}  // namespace elyte

#endif

#include "elyte/internal/MLFFForceImpl.h"

#include <set>
#include <string>

#include "elyte/MLFFKernels.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"

namespace elyte {

using OpenMM::OpenMMException;

namespace {

void validate(const OpenMM::System& system, const MLFFForce& force) {
    const std::vector<int> particles = force.getParticles();
    std::set<int> seen;
    for (size_t k = 0; k < particles.size(); k++) {
        int p = particles[k];
        if (p < 0 || p >= system.getNumParticles())
            throw OpenMMException("MLFFForce: particle " + std::to_string(p) + " is not in the System (" +
                                  std::to_string(system.getNumParticles()) + " particles)");
        if (!seen.insert(p).second)
            throw OpenMMException("MLFFForce: particle " + std::to_string(p) + " is listed twice");
    }
    if (force.usesPeriodicBoundaryConditions()) {
        OpenMM::Vec3 a, b, c;
        system.getDefaultPeriodicBoxVectors(a, b, c);
        if (std::min(a[0], std::min(b[1], c[2])) < 2.0 * force.getLongCutoff())
            throw OpenMMException("MLFFForce: the box (" + std::to_string(std::min(a[0], std::min(b[1], c[2]))) +
                                  " nm wide) is smaller than twice the model's cutoff (" +
                                  std::to_string(force.getLongCutoff()) + " nm); use a larger box");
    }
}

}  // namespace

void MLFFForceImpl::initialize(OpenMM::ContextImpl& context) {
    validate(context.getSystem(), owner);
    kernel = context.getPlatform().createKernel(CalcMLFFForceKernel::Name(), context);
    kernel.getAs<CalcMLFFForceKernel>().initialize(context.getSystem(), owner);
}

double MLFFForceImpl::calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy,
                                          int groups) {
    if ((groups & (1 << owner.getForceGroup())) == 0) return 0.0;
    return kernel.getAs<CalcMLFFForceKernel>().execute(context, includeForces, includeEnergy);
}

std::vector<std::string> MLFFForceImpl::getKernelNames() { return {CalcMLFFForceKernel::Name()}; }

}  // namespace elyte

#include "elyte/internal/PolarizationForceImpl.h"

#include <cmath>
#include <string>

#include "elyte/PolarizationKernels.h"
#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"

namespace elyte {

using OpenMM::OpenMMException;

namespace {

void validate(const OpenMM::System& system, const PolarizationForce& force) {
    const int n = force.getNumParticles();
    if (n != system.getNumParticles())
        throw OpenMMException("PolarizationForce has " + std::to_string(n) + " particles but the System has " +
                              std::to_string(system.getNumParticles()) + "; add one particle per System particle");
    for (int i = 0; i < n; i++) {
        double q, alpha, damping;
        force.getParticleParameters(i, q, alpha, damping);
        if (alpha < 0 || (alpha > 0 && !(damping > 0)))
            throw OpenMMException("PolarizationForce: particle " + std::to_string(i) +
                                  " needs polarizability >= 0 and, when polarizable, a damping volume > 0 (nm^3)");
    }
    for (int k = 0; k < force.getNumExceptions(); k++) {
        int a, b;
        double cs, fs, ds;
        force.getExceptionParameters(k, a, b, cs, fs, ds);
        if (a < 0 || b < 0 || a >= n || b >= n || a == b)
            throw OpenMMException("PolarizationForce: exception " + std::to_string(k) + " names invalid particles " +
                                  std::to_string(a) + ", " + std::to_string(b));
    }
    if (force.getNonbondedMethod() != PolarizationForce::NoCutoff) {
        if (!(force.getCutoffDistance() > 0) || !(force.getEwaldErrorTolerance() > 0 && force.getEwaldErrorTolerance() < 1))
            throw OpenMMException("PolarizationForce: Ewald and PME need a cutoff > 0 and an error tolerance in (0, 1)");
        OpenMM::Vec3 a, b, c;
        system.getDefaultPeriodicBoxVectors(a, b, c);
        double width = std::min(a[0], std::min(b[1], c[2]));
        if (force.getCutoffDistance() > 0.5 * width)
            throw OpenMMException("PolarizationForce: the cutoff must not exceed half the smallest box width");
    }
    if (!(force.getMutualInducedTolerance() > 0) || force.getMutualInducedMaxIterations() < 1)
        throw OpenMMException("PolarizationForce: the mutual-induced tolerance must be > 0 and max iterations >= 1");
}

}  // namespace

void PolarizationForceImpl::initialize(OpenMM::ContextImpl& context) {
    validate(context.getSystem(), owner);
    kernel = context.getPlatform().createKernel(CalcPolarizationForceKernel::Name(), context);
    kernel.getAs<CalcPolarizationForceKernel>().initialize(context.getSystem(), owner);
}

double PolarizationForceImpl::calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces,
                                                  bool includeEnergy, int groups) {
    if ((groups & (1 << owner.getForceGroup())) == 0) return 0.0;
    return kernel.getAs<CalcPolarizationForceKernel>().execute(context, includeForces, includeEnergy);
}

std::vector<std::string> PolarizationForceImpl::getKernelNames() { return {CalcPolarizationForceKernel::Name()}; }

void PolarizationForceImpl::getInducedDipoles(OpenMM::ContextImpl& context, std::vector<OpenMM::Vec3>& dipoles) {
    kernel.getAs<CalcPolarizationForceKernel>().getInducedDipoles(context, dipoles);
}

void PolarizationForceImpl::updateParametersInContext(OpenMM::ContextImpl& context) {
    validate(context.getSystem(), owner);
    kernel.getAs<CalcPolarizationForceKernel>().copyParametersToContext(context, owner);
    context.systemChanged();
}

}  // namespace elyte

#include "elyte/PolarizationForce.h"

#include <string>

#include "elyte/internal/PolarizationForceImpl.h"
#include "openmm/OpenMMException.h"

namespace elyte {

using OpenMM::OpenMMException;

PolarizationForce::PolarizationForce() { setName("PolarizationForce"); }

void PolarizationForce::checkParticle(int index) const {
    if (index < 0 || index >= getNumParticles())
        throw OpenMMException("PolarizationForce: particle index " + std::to_string(index) + " out of range (" +
                              std::to_string(getNumParticles()) + " particles)");
}

int PolarizationForce::addParticle(double charge, double polarizability, double dampingVolume) {
    particles.push_back({charge, polarizability, dampingVolume});
    return getNumParticles() - 1;
}

void PolarizationForce::getParticleParameters(int index, double& charge, double& polarizability,
                                              double& dampingVolume) const {
    checkParticle(index);
    const Particle& p = particles[index];
    charge = p.charge;
    polarizability = p.polarizability;
    dampingVolume = p.dampingVolume;
}

void PolarizationForce::setParticleParameters(int index, double charge, double polarizability, double dampingVolume) {
    checkParticle(index);
    particles[index] = {charge, polarizability, dampingVolume};
}

int PolarizationForce::addException(int particle1, int particle2, double chargeScale, double fieldScale,
                                    double dipoleScale) {
    exceptions.push_back({particle1, particle2, chargeScale, fieldScale, dipoleScale});
    return getNumExceptions() - 1;
}

void PolarizationForce::getExceptionParameters(int index, int& particle1, int& particle2, double& chargeScale,
                                               double& fieldScale, double& dipoleScale) const {
    if (index < 0 || index >= getNumExceptions())
        throw OpenMMException("PolarizationForce: exception index " + std::to_string(index) + " out of range");
    const Exception& e = exceptions[index];
    particle1 = e.particle1;
    particle2 = e.particle2;
    chargeScale = e.chargeScale;
    fieldScale = e.fieldScale;
    dipoleScale = e.dipoleScale;
}

void PolarizationForce::setExceptionParameters(int index, int particle1, int particle2, double chargeScale,
                                               double fieldScale, double dipoleScale) {
    if (index < 0 || index >= getNumExceptions())
        throw OpenMMException("PolarizationForce: exception index " + std::to_string(index) + " out of range");
    exceptions[index] = {particle1, particle2, chargeScale, fieldScale, dipoleScale};
}

void PolarizationForce::setExtrapolationCoefficients(const std::vector<double>& coefficients) {
    if (coefficients.size() < 2)
        throw OpenMMException("PolarizationForce: extrapolated polarization needs at least two coefficients (c_0, c_1), got " +
                              std::to_string(coefficients.size()));
    extrapolation = coefficients;
}

void PolarizationForce::getInducedDipoles(OpenMM::Context& context, std::vector<OpenMM::Vec3>& dipoles) {
    dynamic_cast<PolarizationForceImpl&>(getImplInContext(context)).getInducedDipoles(getContextImpl(context), dipoles);
}

void PolarizationForce::updateParametersInContext(OpenMM::Context& context) {
    dynamic_cast<PolarizationForceImpl&>(getImplInContext(context)).updateParametersInContext(getContextImpl(context));
}

OpenMM::ForceImpl* PolarizationForce::createImpl() const { return new PolarizationForceImpl(*this); }

}  // namespace elyte

#ifndef ELYTE_POLARIZATION_FORCE_IMPL_H_
#define ELYTE_POLARIZATION_FORCE_IMPL_H_

#include <map>
#include <string>
#include <vector>

#include "elyte/PolarizationForce.h"
#include "openmm/Kernel.h"
#include "openmm/internal/ForceImpl.h"

namespace elyte {

class PolarizationForceImpl : public OpenMM::ForceImpl {
public:
    explicit PolarizationForceImpl(const PolarizationForce& owner) : owner(owner) {}
    void initialize(OpenMM::ContextImpl& context) override;
    const PolarizationForce& getOwner() const override { return owner; }
    void updateContextState(OpenMM::ContextImpl&, bool&) override {}
    double calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy,
                               int groups) override;
    std::map<std::string, double> getDefaultParameters() override { return {}; }
    std::vector<std::string> getKernelNames() override;
    void getInducedDipoles(OpenMM::ContextImpl& context, std::vector<OpenMM::Vec3>& dipoles);
    void updateParametersInContext(OpenMM::ContextImpl& context);

private:
    const PolarizationForce& owner;
    OpenMM::Kernel kernel;
};

}  // namespace elyte

#endif

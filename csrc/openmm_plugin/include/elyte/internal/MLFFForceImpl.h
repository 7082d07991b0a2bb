#ifndef ELYTE_MLFF_FORCE_IMPL_H_
#define ELYTE_MLFF_FORCE_IMPL_H_

#include <map>
#include <string>
#include <vector>

#include "elyte/MLFFForce.h"
#include "openmm/Kernel.h"
#include "openmm/internal/ForceImpl.h"

namespace elyte {

class MLFFForceImpl : public OpenMM::ForceImpl {
public:
    explicit MLFFForceImpl(const MLFFForce& owner) : owner(owner) {}
    void initialize(OpenMM::ContextImpl& context) override;
    const MLFFForce& getOwner() const override { return owner; }
    void updateContextState(OpenMM::ContextImpl&, bool&) override {}
    double calcForcesAndEnergy(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy,
                               int groups) override;
    std::map<std::string, double> getDefaultParameters() override { return {}; }
    std::vector<std::string> getKernelNames() override;

private:
    const MLFFForce& owner;
    OpenMM::Kernel kernel;
};

}  // namespace elyte

#endif

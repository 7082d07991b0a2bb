#ifndef ELYTE_REFERENCE_POLARIZATION_KERNELS_H_
#define ELYTE_REFERENCE_POLARIZATION_KERNELS_H_

#include <deque>
#include <memory>
#include <vector>

#include "PolarizationCalculator.h"
#include "elyte/PolarizationKernels.h"
#include "openmm/KernelFactory.h"
#include "openmm/internal/ThreadPool.h"

namespace elyte {

/**
 * The kernel of the Reference and CPU platforms (both keep positions and forces in the
 * Reference platform's data). Reference: all pairs on one thread, the oracle; CPU: a cell list
 * and the platform's threads.
 */
class CpuCalcPolarizationForceKernel : public CalcPolarizationForceKernel {
public:
    CpuCalcPolarizationForceKernel(std::string name, const OpenMM::Platform& platform, bool fast)
        : CalcPolarizationForceKernel(name, platform), fast(fast) {}
    void initialize(const OpenMM::System& system, const PolarizationForce& force) override;
    double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
    void getInducedDipoles(OpenMM::ContextImpl& context, std::vector<OpenMM::Vec3>& dipoles) override;
    void copyParametersToContext(OpenMM::ContextImpl& context, const PolarizationForce& force) override;

private:
    bool fast;
    std::unique_ptr<PolarizationCalculator> calculator;
    std::unique_ptr<OpenMM::ThreadPool> threads;  // CPU: as many as the platform's Threads property
    double solve(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy);
    std::deque<std::vector<OpenMM::Vec3>> history;  // the last solutions, newest first, for the predictor
    std::vector<OpenMM::Vec3> positions;            // where the newest was solved
};

class PolarizationKernelFactory : public OpenMM::KernelFactory {
public:
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl& context) const override;
};

}  // namespace elyte

#endif

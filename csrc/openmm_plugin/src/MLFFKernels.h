#ifndef ELYTE_REFERENCE_MLFF_KERNELS_H_
#define ELYTE_REFERENCE_MLFF_KERNELS_H_

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "elyte/MLFFKernels.h"
#include "openmm/KernelFactory.h"

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace elyte {

/**
 * The kernel of the Reference and CPU platforms (both keep positions and forces in the Reference
 * platform's data): positions are copied into a tensor, the neighbour lists built by the compiled
 * op, the package run by libtorch on its CPU threads, and the forces added back.
 */
class CpuCalcMLFFForceKernel : public CalcMLFFForceKernel {
public:
    CpuCalcMLFFForceKernel(std::string name, const OpenMM::Platform& platform);
    ~CpuCalcMLFFForceKernel() override;
    void initialize(const OpenMM::System& system, const MLFFForce& force) override;
    double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;

private:
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> package;
    std::vector<int> particles;
    at::ScalarType dtype = at::kDouble;
    double cutoff = 0, longCutoff = 0, kmax = 0;
    bool periodic = false;
};

class MLFFKernelFactory : public OpenMM::KernelFactory {
public:
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl& context) const override;
};

}  // namespace elyte

#endif

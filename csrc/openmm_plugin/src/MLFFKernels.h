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

/** What the package needs besides positions and box: its geometry settings (nm, 1/nm) and dtype. */
struct PackageSettings {
    bool periodic = false;
    double cutoff = 0, longCutoff = 0, kmax = 0;
    at::ScalarType dtype = at::kDouble;
};

/** Read from the force's metadata; refuses a dtype it does not know and a package compiled for
 * another device than ``device`` ("cpu", "cuda"), naming the platform (for the message). */
PackageSettings packageSettings(const MLFFForce& force, const std::string& device, const std::string& platforms);

/**
 * The package's inputs for positions x [N, 3] (nm, float64, on the package's device) in ``box``
 * ([3, 3] nm, float64, on the CPU): neighbour lists by the compiled op, the Ewald reciprocal
 * integers. Refuses non-finite positions and a box narrower than twice the long cutoff.
 */
std::vector<at::Tensor> packageInputs(const at::Tensor& x, const at::Tensor& box, const PackageSettings& settings);

/** The package's outputs, energy (kJ/mol) and forces (kJ/mol/nm), for these inputs (no autograd graph). */
std::vector<at::Tensor> runPackage(torch::inductor::AOTIModelPackageLoader& package, const std::vector<at::Tensor>& inputs);

/** The package's energy (kJ/mol), refusing a non-finite one. */
double packageEnergy(const at::Tensor& energy);

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
    PackageSettings settings;
};

class MLFFKernelFactory : public OpenMM::KernelFactory {
public:
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl& context) const override;
};

}  // namespace elyte

#endif

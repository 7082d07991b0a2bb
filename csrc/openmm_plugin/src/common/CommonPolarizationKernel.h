#ifndef ELYTE_COMMON_POLARIZATION_KERNEL_H_
#define ELYTE_COMMON_POLARIZATION_KERNEL_H_

// PolarizationForce on OpenMM's compute platforms (CUDA, OpenCL), written once against OpenMM's
// common compute API (ComputeContext) and compiled into one plugin library per platform. So far:
// NoCutoff and mutual polarization (Jacobi-preconditioned conjugate gradients, the convergence test
// of the CPU kernel), all pairs; periodic methods and extrapolated polarization are refused at
// initialization with the fix (the CPU platform), so platform selection passes over these platforms.

#include <string>
#include <vector>

#include "elyte/PolarizationKernels.h"
#include "openmm/KernelImpl.h"
#include "openmm/Platform.h"
#include "openmm/common/ComputeArray.h"
#include "openmm/common/ComputeContext.h"
#include "openmm/common/ComputeForceInfo.h"
#include "openmm/common/ComputeKernel.h"

namespace elyte {

class CommonCalcPolarizationForceKernel : public CalcPolarizationForceKernel {
public:
    CommonCalcPolarizationForceKernel(std::string name, const OpenMM::Platform& platform, OpenMM::ComputeContext& cc)
        : CalcPolarizationForceKernel(name, platform), cc(cc) {}
    void initialize(const OpenMM::System& system, const PolarizationForce& force) override;
    double execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) override;
    void getInducedDipoles(OpenMM::ContextImpl& context, std::vector<OpenMM::Vec3>& dipoles) override;
    void copyParametersToContext(OpenMM::ContextImpl& context, const PolarizationForce& force) override;

private:
    void uploadParameters(const PolarizationForce& force);
    void solve();
    std::vector<double> reduce(OpenMM::ComputeArray& x, OpenMM::ComputeArray& y);
    void combine(OpenMM::ComputeArray& x, OpenMM::ComputeArray& y, double scale, double weight);
    void apply(OpenMM::ComputeArray& in, OpenMM::ComputeArray& out);
    void failToConverge(double worst, bool catastrophe);
    void addRealArg(OpenMM::ComputeKernel& kernel, double value);
    void setRealArg(OpenMM::ComputeKernel& kernel, int index, double value);

    OpenMM::ComputeContext& cc;
    OpenMM::ComputeForceInfo* info = nullptr;  // owned by cc
    int numAtoms = 0;
    double tholeA = 0, tolerance = 0;
    int maxIterations = 0;
    bool includeChargeCharge = true, haveGuess = false;
    OpenMM::ComputeArray positions, charge, rootAlpha, rootDamping, rowStart, partner, scales;
    OpenMM::ComputeArray field, rhs, nu, residual, direction, image, dipoles, energy, reduction;
    OpenMM::ComputeKernel gatherKernel, fieldKernel, applyKernel, reduceKernel, combineKernel, startKernel,
        finishKernel, forceKernel;
};

}  // namespace elyte

#endif

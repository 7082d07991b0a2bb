#ifndef ELYTE_COMMON_POLARIZATION_KERNEL_H_
#define ELYTE_COMMON_POLARIZATION_KERNEL_H_

// PolarizationForce on OpenMM's compute platforms (CUDA, OpenCL), written once against OpenMM's
// common compute API (ComputeContext) and compiled into one plugin library per platform: NoCutoff
// (all pairs), and PME (real space within the cutoff by nearest image over a padded neighbour list,
// or over all pairs with ELYTE_POLARIZATION_ALL_PAIRS=1, the reference; smooth PME of charges and
// dipoles on OpenMM's FFT); mutual polarization by Jacobi-preconditioned conjugate gradients with the
// CPU kernel's convergence test, or extrapolated polarization (its forces through the chain, as on the
// CPU). Ewald (the explicit k-sum) is refused at initialization with the fix, so platform selection
// passes over these platforms for it.

#include <string>
#include <vector>

#include "elyte/PolarizationKernels.h"
#include "openmm/KernelImpl.h"
#include "openmm/Platform.h"
#include "openmm/common/ComputeArray.h"
#include "openmm/common/ComputeContext.h"
#include "openmm/common/ComputeForceInfo.h"
#include "openmm/common/ComputeKernel.h"
#include "openmm/common/FFT3D.h"

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
    void checkSupported(const PolarizationForce& force);
    void createArrays();
    void createKernels();
    void uploadParameters(const PolarizationForce& force);
    bool updateBox();
    void updateNeighbors(bool boxChanged);
    void setCapacity(int size);
    void computeField(bool wantEnergy);
    void solve();
    void extrapolate();
    void positionGradient(OpenMM::ComputeArray& potential, bool useCharge, OpenMM::ComputeArray* vectors, int offset,
                          double factor);
    double gridPotential(bool useCharge, int vectorMode, OpenMM::ComputeArray& vectors, OpenMM::ComputeArray& phiOut,
                         bool wantEnergy);
    std::vector<double> reduce(OpenMM::ComputeArray& x, OpenMM::ComputeArray& y);
    double sum(OpenMM::ComputeArray& values, int count);
    void combine(OpenMM::ComputeArray& x, OpenMM::ComputeArray& y, double scale, double weight);
    void apply(OpenMM::ComputeArray& in, OpenMM::ComputeArray& out);
    void addForces(bool includeForces);
    void failToConverge(double worst, bool catastrophe);
    void addRealArg(OpenMM::ComputeKernel& kernel, double value);
    void setRealArg(OpenMM::ComputeKernel& kernel, int index, double value);

    OpenMM::ComputeContext& cc;
    OpenMM::ComputeForceInfo* info = nullptr;  // owned by cc
    int numAtoms = 0, maxIterations = 0;
    double tholeA = 0, tolerance = 0;
    bool includeChargeCharge = true, haveGuess = false;
    // extrapolated polarization: its order n, the partial sums b_j = c_j + ... + c_n, per order the
    // vectors nu_j = p_j / sqrt(alpha) and p_j, the couplings q_m, and (PME) each p_j's grid potential
    bool extrapolated = false;
    int order = 0;
    std::vector<double> partialSums;
    OpenMM::ComputeArray orders, perturbations, couplings, partialSumArray;
    std::vector<OpenMM::ComputeArray> orderPotentials;
    // periodic (PME) only
    bool periodic = false, useList = false, listValid = false;
    int capacity = 0;  // neighbours per atom in the list; 0: all pairs
    double cutoff = 0, beta = 0, ewaldTolerance = 0, volume = 0, chargeSquares = 0, totalCharge = 0;
    double chargeEnergy = 0;  // reciprocal energy of the charges alone at the last field (e^2/nm)
    int gridSize[3] = {0, 0, 0};
    OpenMM::Vec3 lastBox[3];
    OpenMM::FFT3D fft;
    OpenMM::ComputeArray box, recip, influence, fixedGrid, realGrid, spectrum, phi, chargePhi, gridEnergy;
    // per atom
    OpenMM::ComputeArray positions, charge, rootAlpha, rootDamping, rowStart, partner, scales;
    OpenMM::ComputeArray field, rhs, nu, residual, direction, image, dipoles, energy, reduction;
    OpenMM::ComputeArray neighbors, neighborCount, listPositions;
    OpenMM::ComputeKernel gatherKernel, fieldKernel, applyKernel, reduceKernel, sumKernel, combineKernel, startKernel,
        finishKernel, forceKernel;
    OpenMM::ComputeKernel spreadKernel, finishSpreadKernel, convolveKernel, fieldGradientKernel, applyGradientKernel,
        positionGradientKernel, buildKernel, moveKernel, storeKernel, extrapolateKernel;
};

}  // namespace elyte

#endif

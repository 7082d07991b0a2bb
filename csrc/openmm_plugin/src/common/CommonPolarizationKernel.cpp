#include "CommonPolarizationKernel.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <tuple>

#include "../DipolePme.h"
#include "PolarizationKernelSource.h"
#include "openmm/OpenMMException.h"
#include "openmm/common/ContextSelector.h"
#include "openmm/reference/SimTKOpenMMRealType.h"

namespace elyte {

using OpenMM::ComputeArray;
using OpenMM::OpenMMException;
using OpenMM::Vec3;

namespace {

const int REDUCE_SIZE = 128;  // threads of the one work group that sums over atoms or grid points
const double SQRT_PI = std::sqrt(M_PI);
const double PADDING = 0.08;  // nm added to the cutoff of the neighbour list, as on the CPU platform

bool allPairsRequested() {
    const char* value = std::getenv("ELYTE_POLARIZATION_ALL_PAIRS");
    return value != nullptr && std::string(value) != "" && std::string(value) != "0";
}

// Tells the context which atoms it may swap when it reorders them: equal parameters, and pairs
// with equal exception scales.
class PolarizationForceInfo : public OpenMM::ComputeForceInfo {
public:
    explicit PolarizationForceInfo(const PolarizationForce& force) : force(force) {}
    bool areParticlesIdentical(int a, int b) override {
        double qa, alphaA, dampingA, qb, alphaB, dampingB;
        force.getParticleParameters(a, qa, alphaA, dampingA);
        force.getParticleParameters(b, qb, alphaB, dampingB);
        return qa == qb && alphaA == alphaB && dampingA == dampingB;
    }
    int getNumParticleGroups() override { return force.getNumExceptions(); }
    void getParticlesInGroup(int index, std::vector<int>& particles) override {
        int a, b;
        double cs, fs, ds;
        force.getExceptionParameters(index, a, b, cs, fs, ds);
        particles = {a, b};
    }
    bool areGroupsIdentical(int g1, int g2) override {
        int a, b;
        double cs1, fs1, ds1, cs2, fs2, ds2;
        force.getExceptionParameters(g1, a, b, cs1, fs1, ds1);
        force.getExceptionParameters(g2, a, b, cs2, fs2, ds2);
        return cs1 == cs2 && fs1 == fs2 && ds1 == ds2;
    }

private:
    const PolarizationForce& force;
};

}  // namespace

void CommonCalcPolarizationForceKernel::checkSupported(const PolarizationForce& force) {
    const std::string platform = getPlatform().getName();
    if (force.getNonbondedMethod() == PolarizationForce::Ewald)
        throw OpenMMException("PolarizationForce on the " + platform +
                              " platform has NoCutoff and PME, not Ewald (the explicit k-sum, the Reference "
                              "platform's oracle); use PME, or the CPU platform");
}

void CommonCalcPolarizationForceKernel::initialize(const OpenMM::System& system, const PolarizationForce& force) {
    checkSupported(force);
    OpenMM::ContextSelector selector(cc);
    numAtoms = force.getNumParticles();
    tholeA = force.getTholeA();
    tolerance = force.getMutualInducedTolerance();
    maxIterations = force.getMutualInducedMaxIterations();
    includeChargeCharge = force.getIncludeChargeChargeEnergy();
    extrapolated = force.getPolarizationType() == PolarizationForce::Extrapolated;
    if (extrapolated) {
        const std::vector<double>& c = force.getExtrapolationCoefficients();
        order = static_cast<int>(c.size()) - 1;
        partialSums.assign(order + 2, 0.0);
        for (int j = order; j >= 0; j--) partialSums[j] = partialSums[j + 1] + c[j];
    }
    periodic = force.getNonbondedMethod() == PolarizationForce::PME;
    if (periodic) {
        cutoff = force.getCutoffDistance();
        ewaldTolerance = force.getEwaldErrorTolerance();
        beta = std::sqrt(-std::log(2.0 * ewaldTolerance)) / cutoff;  // as the CPU kernel
        Vec3 a, b, c;
        system.getDefaultPeriodicBoxVectors(a, b, c);
        const double length[3] = {std::sqrt(a.dot(a)), std::sqrt(b.dot(b)), std::sqrt(c.dot(c))};
        for (int d = 0; d < 3; d++) gridSize[d] = cc.findLegalFFTDimension(pmeGridMinimum(length[d], beta, ewaldTolerance));
        useList = !allPairsRequested();
    }
    createArrays();
    uploadParameters(force);
    info = new PolarizationForceInfo(force);
    cc.addForce(info);
    createKernels();
}

void CommonCalcPolarizationForceKernel::createArrays() {
    const int realSize = cc.getUseDoublePrecision() ? sizeof(double) : sizeof(float);
    const int mixedSize = cc.getUseDoublePrecision() || cc.getUseMixedPrecision() ? sizeof(double) : sizeof(float);
    for (ComputeArray* vector : {&positions, &field, &rhs, &nu, &residual, &direction, &image, &dipoles}) {
        vector->initialize(cc, 3 * numAtoms, realSize, "elyteVector");
        vector->upload(std::vector<double>(3 * numAtoms, 0.0), true);
    }
    for (ComputeArray* atoms : {&charge, &rootAlpha, &rootDamping}) atoms->initialize(cc, numAtoms, realSize, "elyteAtoms");
    energy.initialize(cc, numAtoms, mixedSize, "elyteEnergy");
    reduction.initialize(cc, 2, mixedSize, "elyteReduction");
    box.initialize(cc, 9, realSize, "elyteBox");
    recip.initialize(cc, 9, realSize, "elyteRecip");
    box.upload(std::vector<double>(9, 1.0), true);  // unused without PME, but a kernel argument
    neighborCount.initialize<int>(cc, numAtoms, "elyteNeighborCount");
    neighbors.initialize<int>(cc, 1, "elyteNeighbors");  // sized by setCapacity
    listPositions.initialize(cc, 3 * numAtoms, realSize, "elyteListPositions");
    if (extrapolated) {
        orders.initialize(cc, 3 * numAtoms * (order + 1), realSize, "elyteOrders");
        perturbations.initialize(cc, 3 * numAtoms * (order + 1), realSize, "elytePerturbations");
        couplings.initialize(cc, 3 * numAtoms * std::max(order, 1), realSize, "elyteCouplings");
        partialSumArray.initialize(cc, order + 2, realSize, "elytePartialSums");
        partialSumArray.upload(partialSums, true);
    }
    if (!periodic) return;
    const int points = gridSize[0] * gridSize[1] * gridSize[2], half = gridSize[0] * gridSize[1] * (gridSize[2] / 2 + 1);
    fixedGrid.initialize<long long>(cc, points, "elyteFixedGrid");
    fixedGrid.upload(std::vector<long long>(points, 0));
    // OpenMM's FFT needs room for complex values in its input and output, real-to-complex too
    for (ComputeArray* grid : {&realGrid, &spectrum, &phi, &chargePhi}) grid->initialize(cc, points, 2 * realSize, "elyteGrid");
    influence.initialize(cc, half, realSize, "elyteInfluence");
    orderPotentials.resize(order);
    for (ComputeArray& grid : orderPotentials) grid.initialize(cc, points, 2 * realSize, "elyteOrderPotential");
    gridEnergy.initialize(cc, half, mixedSize, "elyteGridEnergy");
    fft = cc.createFFT(gridSize[0], gridSize[1], gridSize[2], true);
}

void CommonCalcPolarizationForceKernel::createKernels() {
    std::map<std::string, std::string> defines;
    defines["REDUCE_SIZE"] = cc.intToString(REDUCE_SIZE);
    defines["ONE_4PI_EPS0"] = cc.doubleToString(ONE_4PI_EPS0);
    defines["BETA"] = cc.doubleToString(beta);
    defines["GAUSS_PREFACTOR"] = cc.doubleToString(2.0 * beta / SQRT_PI);
    defines["CUTOFF_SQUARED"] = cc.doubleToString(cutoff * cutoff);
    defines["PME_ORDER"] = cc.intToString(DipolePme::ORDER);
    defines["GRID_X"] = cc.intToString(gridSize[0]);
    defines["GRID_Y"] = cc.intToString(gridSize[1]);
    defines["GRID_Z"] = cc.intToString(gridSize[2]);
    if (periodic) defines["PERIODIC"] = "1";
    defines["THOLE_A"] = cc.doubleToString(tholeA);
    const std::string source = std::string(POLARIZATION_KERNEL_SOURCE) + (periodic ? PME_KERNEL_SOURCE : "");
    OpenMM::ComputeProgram program = cc.compileProgram(source, defines);
    gatherKernel = program->createKernel("gatherPositions");
    gatherKernel->addArg(cc.getPosq());
    gatherKernel->addArg(cc.getAtomIndexArray());
    gatherKernel->addArg(positions);
    gatherKernel->addArg(numAtoms);
    fieldKernel = program->createKernel("permanentField");
    for (ComputeArray* array : {&positions, &charge, &rootDamping, &rowStart, &partner, &scales, &box, &field})
        fieldKernel->addArg(*array);
    fieldKernel->addArg(numAtoms);
    applyKernel = program->createKernel("applyOperator");
    for (ComputeArray* array : {&positions, &rootAlpha, &rootDamping, &rowStart, &partner, &scales, &box, &nu, &image})
        applyKernel->addArg(*array);
    applyKernel->addArg(numAtoms);
    // the field of the screening Gaussians at their own dipole
    addRealArg(applyKernel, periodic ? 4.0 * beta * beta * beta / (3.0 * SQRT_PI) : 0.0);
    reduceKernel = program->createKernel("reduceVectors");
    for (ComputeArray* array : {&residual, &residual, &rootAlpha, &reduction}) reduceKernel->addArg(*array);
    reduceKernel->addArg(numAtoms);
    sumKernel = program->createKernel("sumArray");
    sumKernel->addArg(energy);
    sumKernel->addArg(reduction);
    sumKernel->addArg(numAtoms);
    combineKernel = program->createKernel("combineVectors");
    combineKernel->addArg(residual);
    combineKernel->addArg(residual);
    addRealArg(combineKernel, 1.0);
    addRealArg(combineKernel, 0.0);
    combineKernel->addArg(3 * numAtoms);
    startKernel = program->createKernel("startSolve");
    for (ComputeArray* array : {&field, &rootAlpha, &dipoles, &nu, &rhs}) startKernel->addArg(*array);
    startKernel->addArg(numAtoms);
    startKernel->addArg(0);
    finishKernel = program->createKernel("finishSolve");
    for (ComputeArray* array : {&nu, &rootAlpha, &dipoles}) finishKernel->addArg(*array);
    finishKernel->addArg(numAtoms);
    forceKernel = program->createKernel("forcesAndEnergy");
    for (ComputeArray* array : {&positions, &charge, &rootAlpha, &rootDamping, &rowStart, &partner, &scales, &box,
                                &dipoles, &field, &nu, &image})
        forceKernel->addArg(*array);
    forceKernel->addArg(cc.getAtomIndexArray());
    forceKernel->addArg(cc.getLongForceBuffer());
    forceKernel->addArg(energy);
    forceKernel->addArg(numAtoms);
    forceKernel->addArg(cc.getPaddedNumAtoms());
    forceKernel->addArg(includeChargeCharge ? 1 : 0);
    forceKernel->addArg(1);
    for (OpenMM::ComputeKernel* kernel : {&fieldKernel, &applyKernel, &forceKernel}) {
        (*kernel)->addArg(neighbors);
        (*kernel)->addArg(neighborCount);
        (*kernel)->addArg(0);  // capacity: all pairs until the list is built
    }
    // couplings: (mu, mu) for converged dipoles; (p_m, q_m), m < n, for extrapolated ones
    forceKernel->addArg(extrapolated ? perturbations : dipoles);
    forceKernel->addArg(extrapolated ? couplings : dipoles);
    forceKernel->addArg(extrapolated ? order : 1);
    forceKernel->addArg(extrapolated ? 0 : 1);
    if (extrapolated) {
        storeKernel = program->createKernel("storeVector");
        storeKernel->addArg(nu);
        storeKernel->addArg(orders);
        storeKernel->addArg(0);
        storeKernel->addArg(3 * numAtoms);
        extrapolateKernel = program->createKernel("extrapolateDipoles");
        for (ComputeArray* array : {&orders, &rootAlpha, &partialSumArray, &perturbations, &dipoles, &couplings})
            extrapolateKernel->addArg(*array);
        extrapolateKernel->addArg(numAtoms);
        extrapolateKernel->addArg(order);
    }
    if (!periodic) return;
    if (useList) {
        buildKernel = program->createKernel("buildNeighbors");
        for (ComputeArray* array : {&positions, &rowStart, &partner, &box, &neighbors, &neighborCount, &listPositions})
            buildKernel->addArg(*array);
        buildKernel->addArg(numAtoms);
        buildKernel->addArg(0);
        addRealArg(buildKernel, (cutoff + PADDING) * (cutoff + PADDING));
        moveKernel = program->createKernel("largestMove");
        for (ComputeArray* array : {&positions, &listPositions, &reduction}) moveKernel->addArg(*array);
        moveKernel->addArg(numAtoms);
    }
    spreadKernel = program->createKernel("spreadGrid");
    for (ComputeArray* array : {&positions, &charge, &nu, &rootAlpha, &recip, &fixedGrid}) spreadKernel->addArg(*array);
    spreadKernel->addArg(numAtoms);
    spreadKernel->addArg(1);
    spreadKernel->addArg(0);
    finishSpreadKernel = program->createKernel("finishSpread");
    finishSpreadKernel->addArg(fixedGrid);
    finishSpreadKernel->addArg(realGrid);
    convolveKernel = program->createKernel("convolveGrid");
    for (ComputeArray* array : {&spectrum, &influence, &gridEnergy}) convolveKernel->addArg(*array);
    convolveKernel->addArg(0);
    // the field of the grid potential at each atom: -2 sum_g phi grad W (into field, or into the
    // operator's image, where it enters as -sqrt(alpha) times the field)
    fieldGradientKernel = program->createKernel("addDipoleGradient");
    for (ComputeArray* array : {&positions, &chargePhi, &recip, &rootAlpha, &field}) fieldGradientKernel->addArg(*array);
    fieldGradientKernel->addArg(numAtoms);
    fieldGradientKernel->addArg(0);
    addRealArg(fieldGradientKernel, -2.0);
    applyGradientKernel = program->createKernel("addDipoleGradient");
    for (ComputeArray* array : {&positions, &phi, &recip, &rootAlpha, &image}) applyGradientKernel->addArg(*array);
    applyGradientKernel->addArg(numAtoms);
    applyGradientKernel->addArg(1);
    addRealArg(applyGradientKernel, 2.0);
    positionGradientKernel = program->createKernel("addPositionGradient");
    for (ComputeArray* array : {&positions, &phi, &recip, &charge, &dipoles}) positionGradientKernel->addArg(*array);
    positionGradientKernel->addArg(cc.getAtomIndexArray());
    positionGradientKernel->addArg(cc.getLongForceBuffer());
    positionGradientKernel->addArg(numAtoms);
    positionGradientKernel->addArg(cc.getPaddedNumAtoms());
    positionGradientKernel->addArg(1);
    positionGradientKernel->addArg(1);
    addRealArg(positionGradientKernel, -2.0 * ONE_4PI_EPS0);
    positionGradientKernel->addArg(0);
}

void CommonCalcPolarizationForceKernel::uploadParameters(const PolarizationForce& force) {
    if (force.getNumParticles() != numAtoms)
        throw OpenMMException("PolarizationForce: updateParametersInContext cannot change the number of particles");
    std::vector<double> q(numAtoms), root(numAtoms), damping(numAtoms);
    chargeSquares = totalCharge = 0;
    for (int a = 0; a < numAtoms; a++) {
        double alpha, volume;
        force.getParticleParameters(a, q[a], alpha, volume);
        root[a] = std::sqrt(alpha);
        damping[a] = std::sqrt(volume);
        chargeSquares += q[a] * q[a];
        totalCharge += q[a];
    }
    // each atom's exceptions, sorted by partner (both directions): the kernels loop over all partners
    std::vector<std::vector<std::tuple<int, double, double, double>>> rows(numAtoms);
    for (int k = 0; k < force.getNumExceptions(); k++) {
        int a, b;
        double cs, fs, ds;
        force.getExceptionParameters(k, a, b, cs, fs, ds);
        rows[a].emplace_back(b, cs, fs, ds);
        rows[b].emplace_back(a, cs, fs, ds);
    }
    std::vector<int> start(numAtoms + 1, 0), partners;
    std::vector<double> scaleValues;
    for (int a = 0; a < numAtoms; a++) {
        std::sort(rows[a].begin(), rows[a].end());
        for (size_t e = 0; e < rows[a].size(); e++) {
            const auto& [b, cs, fs, ds] = rows[a][e];
            if (e > 0 && std::get<0>(rows[a][e - 1]) == b)
                throw OpenMMException("PolarizationForce: more than one exception for the pair " + std::to_string(a) +
                                      ", " + std::to_string(b));
            partners.push_back(b);
            scaleValues.insert(scaleValues.end(), {cs, fs, ds});
        }
        start[a + 1] = static_cast<int>(partners.size());
    }
    if (partners.empty()) {  // arrays of size zero are not allowed
        partners.push_back(-1);
        scaleValues.assign(3, 1.0);
    }
    const int realSize = cc.getUseDoublePrecision() ? sizeof(double) : sizeof(float);
    if (!rowStart.isInitialized()) {
        rowStart.initialize<int>(cc, numAtoms + 1, "elyteRowStart");
        partner.initialize<int>(cc, partners.size(), "elytePartner");
        scales.initialize(cc, scaleValues.size(), realSize, "elyteScales");
    } else if (partner.getSize() != partners.size())
        throw OpenMMException("PolarizationForce: updateParametersInContext cannot change the exceptions' pairs");
    rowStart.upload(start);
    partner.upload(partners);
    scales.upload(scaleValues, true);
    charge.upload(q, true);
    rootAlpha.upload(root, true);
    rootDamping.upload(damping, true);
    haveGuess = false;
}

void CommonCalcPolarizationForceKernel::addRealArg(OpenMM::ComputeKernel& kernel, double value) {
    if (cc.getUseDoublePrecision())
        kernel->addArg(value);
    else
        kernel->addArg(static_cast<float>(value));
}

void CommonCalcPolarizationForceKernel::setRealArg(OpenMM::ComputeKernel& kernel, int index, double value) {
    if (cc.getUseDoublePrecision())
        kernel->setArg(index, value);
    else
        kernel->setArg(index, static_cast<float>(value));
}

std::vector<double> CommonCalcPolarizationForceKernel::reduce(ComputeArray& x, ComputeArray& y) {
    reduceKernel->setArg(0, x);
    reduceKernel->setArg(1, y);
    reduceKernel->execute(REDUCE_SIZE, REDUCE_SIZE);
    std::vector<double> out;
    reduction.download(out, true);
    return out;
}

double CommonCalcPolarizationForceKernel::sum(ComputeArray& values, int count) {
    sumKernel->setArg(0, values);
    sumKernel->setArg(2, count);
    sumKernel->execute(REDUCE_SIZE, REDUCE_SIZE);
    std::vector<double> out;
    reduction.download(out, true);
    return out[0];
}

void CommonCalcPolarizationForceKernel::combine(ComputeArray& x, ComputeArray& y, double scale, double weight) {
    combineKernel->setArg(0, x);
    combineKernel->setArg(1, y);
    setRealArg(combineKernel, 2, scale);
    setRealArg(combineKernel, 3, weight);
    combineKernel->execute(3 * numAtoms);
}

double CommonCalcPolarizationForceKernel::gridPotential(bool useCharge, int vectorMode, ComputeArray& vectors,
                                                        ComputeArray& phiOut, bool wantEnergy) {
    // Q on the grid, its transform times the influence function, back: phiOut; E (e^2/nm) on request
    spreadKernel->setArg(2, vectors);
    spreadKernel->setArg(7, useCharge ? 1 : 0);
    spreadKernel->setArg(8, vectorMode);
    spreadKernel->execute(numAtoms);
    const int points = gridSize[0] * gridSize[1] * gridSize[2], half = gridSize[0] * gridSize[1] * (gridSize[2] / 2 + 1);
    finishSpreadKernel->execute(points);
    fft->execFFT(realGrid, spectrum, true);
    convolveKernel->setArg(3, wantEnergy ? 1 : 0);
    convolveKernel->execute(half);
    fft->execFFT(spectrum, phiOut, false);
    return wantEnergy ? sum(gridEnergy, half) : 0.0;
}

void CommonCalcPolarizationForceKernel::apply(ComputeArray& in, ComputeArray& out) {
    // out = in - sqrt(alpha) T (sqrt(alpha) in), T with the reciprocal part and the self term
    applyKernel->setArg(7, in);
    applyKernel->setArg(8, out);
    applyKernel->execute(numAtoms);
    if (!periodic) return;
    gridPotential(false, 2, in, phi, false);
    applyGradientKernel->setArg(4, out);
    applyGradientKernel->execute(numAtoms);
}

bool CommonCalcPolarizationForceKernel::updateBox() {
    Vec3 a, b, c;
    cc.getPeriodicBoxVectors(a, b, c);
    const Vec3 vectors[3] = {a, b, c};
    const double width = std::min(a[0], std::min(b[1], c[2]));
    if (width < 2.0 * cutoff)
        throw OpenMMException("PolarizationForce: the periodic box has shrunk to " + std::to_string(width) +
                              " nm, less than twice the cutoff (" + std::to_string(cutoff) + " nm)");
    if (a == lastBox[0] && b == lastBox[1] && c == lastBox[2]) return false;
    volume = a.dot(b.cross(c));
    const Vec3 rows[3] = {b.cross(c) / volume, c.cross(a) / volume, a.cross(b) / volume};
    std::vector<double> boxValues, recipValues;
    for (int d = 0; d < 3; d++)
        for (int e = 0; e < 3; e++) {
            boxValues.push_back(vectors[d][e]);
            recipValues.push_back(rows[d][e]);
        }
    box.upload(boxValues, true);
    recip.upload(recipValues, true);
    influence.upload(pmeInfluence(gridSize, vectors, beta), true);
    for (int d = 0; d < 3; d++) lastBox[d] = vectors[d];
    return true;
}

void CommonCalcPolarizationForceKernel::setCapacity(int size) {
    capacity = size;
    neighbors.resize(static_cast<size_t>(numAtoms) * capacity);
    buildKernel->setArg(4, neighbors);
    buildKernel->setArg(8, capacity);
    // the pair kernels and the index of their first neighbour-list argument (neighbors, neighborCount, capacity)
    const std::pair<OpenMM::ComputeKernel*, int> pairKernels[] = {{&fieldKernel, 9}, {&applyKernel, 11}, {&forceKernel, 19}};
    for (const auto& [kernel, first] : pairKernels) {
        (*kernel)->setArg(first, neighbors);
        (*kernel)->setArg(first + 2, capacity);
    }
}

void CommonCalcPolarizationForceKernel::updateNeighbors(bool boxChanged) {
    // rebuilt when the box changed or an atom moved half the padding (the context's reordering, which
    // may wrap molecules into the box, counts as a move)
    if (listValid && !boxChanged) {
        moveKernel->execute(REDUCE_SIZE, REDUCE_SIZE);
        std::vector<double> largest;
        reduction.download(largest, true);
        if (largest[0] < 0.25 * PADDING * PADDING) return;
    }
    if (capacity == 0) {  // first list: room for the density's expected count and a margin
        const double listVolume = 4.0 / 3.0 * M_PI * std::pow(cutoff + PADDING, 3);
        setCapacity(static_cast<int>(1.3 * numAtoms * listVolume / volume) + 32);
    }
    for (;;) {
        buildKernel->execute(numAtoms);
        std::vector<int> counts;
        neighborCount.download(counts);
        const int largest = *std::max_element(counts.begin(), counts.end());
        if (largest <= capacity) break;
        setCapacity(static_cast<int>(1.2 * largest) + 16);
    }
    listValid = true;
}

void CommonCalcPolarizationForceKernel::computeField(bool wantEnergy) {
    fieldKernel->execute(numAtoms);
    if (!periodic) return;
    chargeEnergy = gridPotential(true, 0, nu, chargePhi, wantEnergy);
    fieldGradientKernel->execute(numAtoms);
}

void CommonCalcPolarizationForceKernel::solve() {
    // (I - B) nu = sqrt(alpha) E with B = sqrt(alpha) T sqrt(alpha), mu = sqrt(alpha) nu, by
    // conjugate gradients from the last solution (the CPU kernel's system and convergence test)
    startKernel->setArg(6, haveGuess ? 1 : 0);
    startKernel->execute(3 * numAtoms);
    apply(nu, image);
    rhs.copyTo(residual);
    combine(image, residual, -1.0, 1.0);
    residual.copyTo(direction);
    std::vector<double> state = reduce(residual, residual);
    double rho = state[0], worst = state[1];
    for (int iteration = 0; !(worst < tolerance); iteration++) {
        if (iteration >= maxIterations || !std::isfinite(worst)) failToConverge(worst, false);
        apply(direction, image);
        const double curvature = reduce(direction, image)[0];
        if (!(curvature > 0)) failToConverge(worst, true);
        const double step = rho / curvature;
        combine(direction, nu, step, 1.0);
        combine(image, residual, -step, 1.0);
        state = reduce(residual, residual);
        combine(residual, direction, 1.0, state[0] / rho);
        rho = state[0];
        worst = state[1];
    }
    finishKernel->execute(3 * numAtoms);
    haveGuess = true;
}

void CommonCalcPolarizationForceKernel::positionGradient(ComputeArray& potential, bool useCharge, ComputeArray* vectors,
                                                         int offset, double factor) {
    positionGradientKernel->setArg(1, potential);
    positionGradientKernel->setArg(4, vectors != nullptr ? *vectors : dipoles);
    positionGradientKernel->setArg(9, useCharge ? 1 : 0);
    positionGradientKernel->setArg(10, vectors != nullptr ? 1 : 0);
    setRealArg(positionGradientKernel, 11, factor);
    positionGradientKernel->setArg(12, offset);
    positionGradientKernel->execute(numAtoms);
}

void CommonCalcPolarizationForceKernel::addForces(bool includeForces) {
    forceKernel->setArg(18, includeForces ? 1 : 0);
    forceKernel->execute(numAtoms);
    if (!periodic || !includeForces) return;
    const double factor = -2.0 * ONE_4PI_EPS0;
    if (!extrapolated) {
        // the charges and dipoles in the potential of both; without the charge-charge energy, the
        // charges' own term is taken off again
        gridPotential(true, 1, dipoles, phi, false);
        positionGradient(phi, true, &dipoles, 0, factor);
        if (!includeChargeCharge) positionGradient(chargePhi, true, nullptr, 0, -factor);
        return;
    }
    // extrapolated: the charges in the potential of mu (and of the charges), mu in that of the charges,
    // each p_m in that of q_m = sum_k b_(m+k+1) p_k
    gridPotential(false, 1, dipoles, phi, false);
    positionGradient(phi, true, nullptr, 0, factor);
    if (includeChargeCharge) positionGradient(chargePhi, true, nullptr, 0, factor);
    positionGradient(chargePhi, false, &dipoles, 0, factor);
    for (int m = 0; m < order; m++)
        for (int k = 0; m + k + 1 <= order; k++)
            positionGradient(orderPotentials[k], false, &perturbations, 3 * numAtoms * m, factor * partialSums[m + k + 1]);
}

void CommonCalcPolarizationForceKernel::extrapolate() {
    // nu_0 = sqrt(alpha) E, nu_(m+1) = B nu_m = nu_m - (I - B) nu_m; then p_j, mu and the couplings
    startKernel->setArg(6, 0);
    startKernel->execute(3 * numAtoms);
    for (int m = 0;; m++) {
        storeKernel->setArg(2, 3 * numAtoms * m);
        storeKernel->execute(3 * numAtoms);
        if (m == order) break;
        apply(nu, image);
        if (periodic) phi.copyTo(orderPotentials[m]);  // the grid potential of p_m
        combine(image, nu, -1.0, 1.0);
    }
    extrapolateKernel->execute(3 * numAtoms);
}

void CommonCalcPolarizationForceKernel::failToConverge(double worst, bool catastrophe) {
    haveGuess = false;
    std::vector<double> r, root;
    residual.download(r, true);
    rootAlpha.download(root, true);
    std::vector<std::pair<double, int>> residuals(numAtoms);
    for (int a = 0; a < numAtoms; a++)
        residuals[a] = {root[a] * std::sqrt(r[3 * a] * r[3 * a] + r[3 * a + 1] * r[3 * a + 1] + r[3 * a + 2] * r[3 * a + 2]), a};
    std::sort(residuals.rbegin(), residuals.rend());
    std::ostringstream message;
    const std::string why = catastrophe ? "the dipole equations are not positive definite: a polarization catastrophe"
                            : !std::isfinite(worst) ? "the residual is not finite: positions or parameters with NaN or inf"
                                                    : "largest residual " + std::to_string(worst) + " e*nm after " +
                                                          std::to_string(maxIterations) + " iterations";
    message << "PolarizationForce: the induced dipoles did not converge (" << why
            << "); worst atoms:";
    for (int a = 0; a < std::min(numAtoms, 5); a++)
        message << " " << residuals[a].second << " (" << residuals[a].first << " e*nm)";
    message << ". Fix: raise setMutualInducedMaxIterations or loosen setMutualInducedTolerance (now " << tolerance
            << " e*nm; in single or mixed precision the residual stops near 1e-7 of the dipoles); if it persists, "
               "check those atoms' polarizabilities and damping volumes (nm^3) and that no atoms overlap.";
    throw OpenMMException(message.str());
}

double CommonCalcPolarizationForceKernel::execute(OpenMM::ContextImpl&, bool includeForces, bool includeEnergy) {
    OpenMM::ContextSelector selector(cc);
    const bool boxChanged = periodic && updateBox();
    gatherKernel->execute(numAtoms);
    if (useList) updateNeighbors(boxChanged);
    const bool chargeCharge = includeEnergy && includeChargeCharge;
    computeField(chargeCharge);
    if (extrapolated)
        extrapolate();
    else
        solve();
    if (!includeForces && !includeEnergy) return 0.0;
    if (!extrapolated) apply(nu, image);  // B nu at the solution, for the variational energy
    addForces(includeForces);
    if (!includeEnergy) return 0.0;
    double total = sum(energy, numAtoms);
    if (periodic && chargeCharge)
        total += chargeEnergy - beta / SQRT_PI * chargeSquares - M_PI * totalCharge * totalCharge / (2.0 * volume * beta * beta);
    return ONE_4PI_EPS0 * total;
}

void CommonCalcPolarizationForceKernel::getInducedDipoles(OpenMM::ContextImpl& context, std::vector<Vec3>& out) {
    execute(context, false, false);
    std::vector<double> mu;
    dipoles.download(mu, true);
    out.resize(numAtoms);
    for (int a = 0; a < numAtoms; a++) out[a] = Vec3(mu[3 * a], mu[3 * a + 1], mu[3 * a + 2]);
}

void CommonCalcPolarizationForceKernel::copyParametersToContext(OpenMM::ContextImpl&, const PolarizationForce& force) {
    OpenMM::ContextSelector selector(cc);
    uploadParameters(force);
    cc.invalidateMolecules(info);
}

}  // namespace elyte

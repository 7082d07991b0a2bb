#include "CommonPolarizationKernel.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

#include "PolarizationKernelSource.h"
#include "openmm/OpenMMException.h"
#include "openmm/common/ComputeForceInfo.h"
#include "openmm/common/ContextSelector.h"
#include "openmm/reference/SimTKOpenMMRealType.h"

namespace elyte {

using OpenMM::ComputeArray;
using OpenMM::OpenMMException;
using OpenMM::Vec3;

namespace {

const int REDUCE_SIZE = 128;  // threads of the one work group that sums over the atoms

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

void CommonCalcPolarizationForceKernel::initialize(const OpenMM::System&, const PolarizationForce& force) {
    const std::string platform = getPlatform().getName();
    if (force.getNonbondedMethod() != PolarizationForce::NoCutoff)
        throw OpenMMException("PolarizationForce on the " + platform +
                              " platform supports NoCutoff only so far (no Ewald or PME yet); use the CPU platform "
                              "for periodic systems");
    if (force.getPolarizationType() != PolarizationForce::Mutual)
        throw OpenMMException("PolarizationForce on the " + platform +
                              " platform supports mutual polarization only so far; use the CPU platform for "
                              "extrapolated polarization");
    OpenMM::ContextSelector selector(cc);
    numAtoms = force.getNumParticles();
    tholeA = force.getTholeA();
    tolerance = force.getMutualInducedTolerance();
    maxIterations = force.getMutualInducedMaxIterations();
    includeChargeCharge = force.getIncludeChargeChargeEnergy();
    const int realSize = cc.getUseDoublePrecision() ? sizeof(double) : sizeof(float);
    const int mixedSize = cc.getUseDoublePrecision() || cc.getUseMixedPrecision() ? sizeof(double) : sizeof(float);
    for (ComputeArray* vector : {&positions, &field, &rhs, &nu, &residual, &direction, &image, &dipoles}) {
        vector->initialize(cc, 3 * numAtoms, realSize, "elyteVector");
        vector->upload(std::vector<double>(3 * numAtoms, 0.0), true);
    }
    for (ComputeArray* atoms : {&charge, &rootAlpha, &rootDamping}) atoms->initialize(cc, numAtoms, realSize, "elyteAtoms");
    energy.initialize(cc, numAtoms, mixedSize, "elyteEnergy");
    reduction.initialize(cc, 2, mixedSize, "elyteReduction");
    uploadParameters(force);
    info = new PolarizationForceInfo(force);
    cc.addForce(info);

    std::map<std::string, std::string> defines;
    defines["REDUCE_SIZE"] = cc.intToString(REDUCE_SIZE);
    defines["ONE_4PI_EPS0"] = cc.doubleToString(ONE_4PI_EPS0);
    OpenMM::ComputeProgram program = cc.compileProgram(POLARIZATION_KERNEL_SOURCE, defines);
    gatherKernel = program->createKernel("gatherPositions");
    gatherKernel->addArg(cc.getPosq());
    gatherKernel->addArg(cc.getAtomIndexArray());
    gatherKernel->addArg(positions);
    gatherKernel->addArg(numAtoms);
    fieldKernel = program->createKernel("permanentField");
    for (ComputeArray* array : {&positions, &charge, &rootDamping, &rowStart, &partner, &scales, &field})
        fieldKernel->addArg(*array);
    fieldKernel->addArg(numAtoms);
    addRealArg(fieldKernel, tholeA);
    applyKernel = program->createKernel("applyOperator");
    for (ComputeArray* array : {&positions, &rootAlpha, &rootDamping, &rowStart, &partner, &scales, &nu, &image})
        applyKernel->addArg(*array);
    applyKernel->addArg(numAtoms);
    addRealArg(applyKernel, tholeA);
    reduceKernel = program->createKernel("reduceVectors");
    for (ComputeArray* array : {&residual, &residual, &rootAlpha, &reduction}) reduceKernel->addArg(*array);
    reduceKernel->addArg(numAtoms);
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
    for (ComputeArray* array : {&positions, &charge, &rootAlpha, &rootDamping, &rowStart, &partner, &scales, &dipoles,
                                &field, &nu, &image})
        forceKernel->addArg(*array);
    forceKernel->addArg(cc.getAtomIndexArray());
    forceKernel->addArg(cc.getLongForceBuffer());
    forceKernel->addArg(energy);
    forceKernel->addArg(numAtoms);
    forceKernel->addArg(cc.getPaddedNumAtoms());
    addRealArg(forceKernel, tholeA);
    forceKernel->addArg(includeChargeCharge ? 1 : 0);
    forceKernel->addArg(1);
}

void CommonCalcPolarizationForceKernel::uploadParameters(const PolarizationForce& force) {
    if (force.getNumParticles() != numAtoms)
        throw OpenMMException("PolarizationForce: updateParametersInContext cannot change the number of particles");
    std::vector<double> q(numAtoms), root(numAtoms), damping(numAtoms);
    for (int a = 0; a < numAtoms; a++) {
        double alpha, volume;
        force.getParticleParameters(a, q[a], alpha, volume);
        root[a] = std::sqrt(alpha);
        damping[a] = std::sqrt(volume);
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

void CommonCalcPolarizationForceKernel::combine(ComputeArray& x, ComputeArray& y, double scale, double weight) {
    combineKernel->setArg(0, x);
    combineKernel->setArg(1, y);
    setRealArg(combineKernel, 2, scale);
    setRealArg(combineKernel, 3, weight);
    combineKernel->execute(3 * numAtoms);
}

void CommonCalcPolarizationForceKernel::apply(ComputeArray& in, ComputeArray& out) {
    applyKernel->setArg(6, in);
    applyKernel->setArg(7, out);
    applyKernel->execute(numAtoms);
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
    for (int iteration = 0; worst >= tolerance; iteration++) {
        if (iteration >= maxIterations) failToConverge(worst, false);
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
    message << "PolarizationForce: the induced dipoles did not converge ("
            << (catastrophe ? "the dipole equations are not positive definite: a polarization catastrophe"
                            : "largest residual " + std::to_string(worst) + " e*nm after " +
                                  std::to_string(maxIterations) + " iterations")
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
    gatherKernel->execute(numAtoms);
    fieldKernel->execute(numAtoms);
    solve();
    if (!includeForces && !includeEnergy) return 0.0;
    apply(nu, image);  // B nu at the solution, for the energy
    forceKernel->setArg(18, includeForces ? 1 : 0);
    forceKernel->execute(numAtoms);
    if (!includeEnergy) return 0.0;
    std::vector<double> shares;
    energy.download(shares, true);
    double total = 0;
    for (double e : shares) total += e;
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

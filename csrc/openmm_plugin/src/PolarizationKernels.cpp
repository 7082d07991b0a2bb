#include "PolarizationKernels.h"

#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

namespace elyte {

using OpenMM::Vec3;

namespace {

OpenMM::ReferencePlatform::PlatformData& platformData(OpenMM::ContextImpl& context) {
    return *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
}

PolarizationParameters parametersOf(const PolarizationForce& force) {
    PolarizationParameters p;
    for (int i = 0; i < force.getNumParticles(); i++) {
        double q, alpha, damping;
        force.getParticleParameters(i, q, alpha, damping);
        p.charge.push_back(q);
        p.polarizability.push_back(alpha);
        p.damping.push_back(damping);
    }
    for (int k = 0; k < force.getNumExceptions(); k++) {
        PolarizationParameters::Exception e;
        force.getExceptionParameters(k, e.i, e.j, e.chargeScale, e.fieldScale, e.dipoleScale);
        p.exceptions.push_back(e);
    }
    return p;
}

}  // namespace

void CpuCalcPolarizationForceKernel::initialize(const OpenMM::System&, const PolarizationForce& force) {

    PolarizationSettings s;
    s.tholeA = force.getTholeA();
    s.periodic = force.getNonbondedMethod() != PolarizationForce::NoCutoff;
    s.cutoff = force.getCutoffDistance();
    s.ewaldTolerance = force.getEwaldErrorTolerance();
    s.tolerance = force.getMutualInducedTolerance();
    s.maxIterations = force.getMutualInducedMaxIterations();
    s.includeChargeCharge = force.getIncludeChargeChargeEnergy();
    s.useCellList = fast;
    s.usePme = fast && force.getNonbondedMethod() == PolarizationForce::PME;
    if (force.getPolarizationType() == PolarizationForce::Extrapolated) s.extrapolation = force.getExtrapolationCoefficients();
    calculator = std::make_unique<PolarizationCalculator>(parametersOf(force), s);
}

double CpuCalcPolarizationForceKernel::solve(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) {
    // Initial guess: the last dipoles at the same positions; after a move, a polynomial
    // extrapolation from the previous solutions (Kolafa's ASPC predictor; the solver converges
    // from any guess, so the guess only decides how many iterations it takes).
    static const std::vector<std::vector<double>> PREDICTOR = {
        {1.0}, {2.0, -1.0}, {2.5, -2.0, 0.5}, {2.8, -2.8, 1.2, -0.2}, {3.0, -24.0 / 7, 27.0 / 14, -4.0 / 7, 1.0 / 14}};
    auto& data = platformData(context);
    if (fast && !threads) {
        // the Reference platform data's pool has one thread; the CPU platform's count is a context property
        int count = 0;
        try {
            count = std::stoi(context.getPlatform().getPropertyValue(context.getOwner(), "Threads"));
        } catch (const std::exception&) {
        }
        threads = std::make_unique<OpenMM::ThreadPool>(count);
    }
    const std::vector<Vec3>& x = *data.positions;
    const bool moved = x != positions;
    std::vector<Vec3> guess;
    if (!history.empty()) {
        guess = history.front();
        if (moved) {
            const std::vector<double>& weights = PREDICTOR[history.size() - 1];
            for (size_t a = 0; a < guess.size(); a++) {
                guess[a] *= weights[0];
                for (size_t k = 1; k < history.size(); k++) guess[a] += history[k][a] * weights[k];
            }
        }
    }
    const double energy = calculator->compute(x, data.periodicBoxVectors, includeForces ? data.forces : nullptr, guess,
                                              threads.get(), includeEnergy);
    if (moved || history.empty()) {
        history.push_front(guess);
        if (history.size() > PREDICTOR.size()) history.pop_back();
        positions = x;
    } else
        history.front().swap(guess);
    return energy;
}

double CpuCalcPolarizationForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces, bool includeEnergy) {
    return solve(context, includeForces, includeEnergy);
}

void CpuCalcPolarizationForceKernel::getInducedDipoles(OpenMM::ContextImpl& context, std::vector<Vec3>& out) {
    solve(context, false, false);
    out = history.front();
}

void CpuCalcPolarizationForceKernel::copyParametersToContext(OpenMM::ContextImpl&, const PolarizationForce& force) {
    calculator->setParameters(parametersOf(force));
    history.clear();
    positions.clear();
}

OpenMM::KernelImpl* PolarizationKernelFactory::createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                                                OpenMM::ContextImpl&) const {
    if (name == CalcPolarizationForceKernel::Name())
        return new CpuCalcPolarizationForceKernel(name, platform, platform.getName() != "Reference");
    throw OpenMM::OpenMMException("elyte polarization plugin: no kernel named " + name);
}

}  // namespace elyte

#ifndef ELYTE_POLARIZATION_CALCULATOR_H_
#define ELYTE_POLARIZATION_CALCULATOR_H_

// Platform-independent math of PolarizationForce (OpenMM units: nm, e, kJ/mol). Used by the
// Reference kernel (all pairs, one thread: the oracle) and the CPU kernel (cell list, threads).
//
// Pair kernels are written with the Ewald screening parameter beta; beta = 0 gives the plain
// Coulomb sums of NoCutoff. For a pair (i, j), v = x_j - x_i, r = |v| and scales (cs, fs, ds):
//   charge-charge   q_i q_j a0(r)
//   charge-dipole   (q_j mu_i.v - q_i mu_j.v) c3(r)
//   dipole-dipole   -(3 d5(r) (mu_i.v)(mu_j.v) - d3(r) mu_i.mu_j)
// with the erfc-screened kernels B0..B3 minus the part that scaling and Thole damping remove:
//   a0 = B0 - (1 - cs)/r, c3 = B1 - (1 - fs l3)/r^3, d3 = B1 - (1 - ds l3)/r^3, d5 = B2/3 - (1 - ds l5)/r^5.

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ReciprocalSpace.h"
#include "ScreeningTable.h"
#include "openmm/Vec3.h"
#include "openmm/internal/ThreadPool.h"

namespace elyte {

struct PolarizationSettings {
    double tholeA = 0.39;
    bool periodic = false;
    double cutoff = 0.0;       // nm, periodic only
    double ewaldTolerance = 5e-4;
    double tolerance = 1e-9;   // e*nm, largest per-atom residual
    int maxIterations = 500;
    bool includeChargeCharge = true;
    bool useCellList = false;  // the fast path (CPU); all pairs otherwise (Reference)
    bool usePme = false;       // reciprocal space by PME (CPU); the explicit k-sum otherwise
    std::vector<double> extrapolation;  // coefficients c_0..c_n of extrapolated polarization; empty: mutual
};

struct PolarizationParameters {
    std::vector<double> charge, polarizability, damping;  // e, nm^3, nm^3
    struct Exception {
        int i, j;  // i < j
        double chargeScale, fieldScale, dipoleScale;
    };
    std::vector<Exception> exceptions;
};

class PolarizationCalculator {
public:
    PolarizationCalculator(const PolarizationParameters& parameters, const PolarizationSettings& settings);
    void setParameters(const PolarizationParameters& parameters);
    /**
     * Solve the induced dipoles (``dipoles`` holds the initial guess when its size matches, and
     * the converged dipoles on return; with extrapolation, the extrapolated dipoles), add forces (kJ/mol/nm) when ``forces`` is not null and
     * return the energy (kJ/mol). ``box``: three periodic box vectors (nm), periodic only.
     * ``threads``: the pool to split the work over, or null for one thread. Returns 0 without
     * ``includeEnergy``.
     */
    double compute(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box,
                   std::vector<OpenMM::Vec3>* forces, std::vector<OpenMM::Vec3>& dipoles, OpenMM::ThreadPool* threads,
                   bool includeEnergy = true);

private:
    struct Neighbor {
        int i, j, exception;  // exception: index into parameters.exceptions, or -1
        OpenMM::Vec3 shift;   // periodic image: v = x_j - x_i + shift
    };
    struct Pair {  // compact: the solver streams through these every iteration
        int i, j;
        OpenMM::Vec3 v;  // x_j - x_i (nearest image)
        double c3, d3, d5;
    };
    struct Slopes {  // the charge-charge kernel and the kernels' derivatives in r divided by r: energy and forces
        double a0, a0Slope, c3, d3, d5;
    };
    struct Kernels {  // of one pair at distance r
        double c3, d3, d5;
        Slopes slopes;
    };
    struct Coupling {  // the dipole-dipole energy -1/2 a.T.b (symmetrized), a term of the forces
        const std::vector<OpenMM::Vec3>* a;
        const std::vector<OpenMM::Vec3>* b;
    };
    static constexpr double PADDING = 0.08;  // nm added to the cutoff of the CPU platform's reused list
    static constexpr double NEAR = 0.45;     // nm, the pairs of the preconditioner
    static constexpr int STALL = 50;         // preconditioned iterations before c is halved
    static constexpr double PRECONDITIONING = 0.5;  // c to start from (Tinker's damped Neumann step)
    using Field = std::vector<OpenMM::Vec3>;

    Kernels kernels(double r, int i, int j, int exception) const;
    int exceptionOf(int i, int j) const;  // the exception of the pair i < j, or -1
    void buildPairs(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, OpenMM::ThreadPool* threads);
    void addPairsAllPairs(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box);
    void addPairsCells(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, OpenMM::ThreadPool* threads);
    void finishPairs(const std::vector<OpenMM::Vec3>& positions, OpenMM::ThreadPool* threads);
    bool neighborsValid(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, int count) const;
    double listCutoff() const;
    void balanceNeighbors();
    Field sumPartials(const std::vector<Field>& partial, OpenMM::ThreadPool* threads) const;
    static void addDipolePairs(const std::vector<Pair>& list, const Field& mu, Field& field);
    Field permanentField(OpenMM::ThreadPool* threads);
    Field dipoleField(const Field& mu, OpenMM::ThreadPool* threads, std::vector<double>* potential = nullptr);
    void solve(const Field& permanent, Field& mu, OpenMM::ThreadPool* threads);
    bool conjugateGradients(const Field& rhs, const std::vector<double>& root, Field& nu, Field& residual,
                            int& iterations, int limit, OpenMM::ThreadPool* threads);
    Field nearField(const Field& x, const std::vector<double>& root, OpenMM::ThreadPool* threads) const;
    double extrapolate(const Field& permanent, Field& mu, std::vector<OpenMM::Vec3>* forces, OpenMM::ThreadPool* threads);
    double chargeChargeEnergy(OpenMM::ThreadPool* threads);
    void addForces(const Field& mu, std::vector<OpenMM::Vec3>& forces, OpenMM::ThreadPool* threads);
    void addRealSpaceForces(const Field& mu, const std::vector<Coupling>& couplings, std::vector<OpenMM::Vec3>& forces,
                            OpenMM::ThreadPool* threads);
    void parallel(OpenMM::ThreadPool* threads, const std::function<void(int, int)>& task) const;
    Parallel gridParallel(OpenMM::ThreadPool* threads) const;

    PolarizationParameters parameters;
    PolarizationSettings settings;
    std::vector<std::vector<std::pair<int, int>>> partners;  // per atom i: (j > i, exception), sorted by j
    std::vector<int> lastPartner;                             // per atom i: its largest such j, or -1
    double beta = 0.0, kmax = 0.0, volume = 0.0;
    std::vector<std::vector<Neighbor>> neighbors;  // one list per thread
    std::vector<OpenMM::Vec3> listPositions;        // positions when the neighbours were listed
    OpenMM::Vec3 listBox[3];
    std::vector<std::vector<Pair>> pairs;           // the neighbours within the cutoff, per thread
    std::vector<std::vector<Slopes>> slopes;        // beside each pair
    std::vector<std::vector<Pair>> near;            // the pairs closer than NEAR: the solver's preconditioner
    double preconditioning = PRECONDITIONING;       // c of the preconditioner I + c B_near
    std::unique_ptr<ReciprocalSpace> reciprocal;  // periodic only: PME or the explicit sum
    std::unique_ptr<ScreeningTable> screening;    // CPU, periodic: tabulated erfc and Gaussian
    std::vector<double> rootDamping;              // sqrt of each Thole damping volume
    std::vector<double> chargePotential;          // its potential of the charges alone
};

}  // namespace elyte

#endif

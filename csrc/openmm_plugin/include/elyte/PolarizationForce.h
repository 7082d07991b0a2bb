#ifndef ELYTE_POLARIZATION_FORCE_H_
#define ELYTE_POLARIZATION_FORCE_H_

// Point charges plus isotropic induced point dipoles with Thole damping, with per-pair scale
// factors for the charge-charge energy, the permanent field and the dipole-dipole coupling.
//
// OpenMM units: nm, kJ/mol, e; polarizabilities and Thole damping volumes in nm^3, dipoles in e*nm.
// Damping: u^3 = r^3 / sqrt(d_i d_j), l3 = 1 - exp(-a u^3), l5 = 1 - (1 + a u^3) exp(-a u^3); the
// permanent field is damped by l3 and the dipole tensor is T = 3 l5 r r^T / r^5 - l3 I / r^3.
// Induced dipoles solve mu = alpha (E + T mu); the polarization energy is the variational
// U = sum |mu|^2 / (2 alpha) - mu.E - 1/2 mu.T.mu at the converged dipoles, so forces are taken at
// fixed dipoles.
//
// Extrapolated polarization (no iterations to convergence): the perturbation orders
// p_0 = alpha E, p_(k+1) = alpha T p_k and their partial sums mu_k = p_0 + ... + p_k give
// mu = sum_k c_k mu_k with fixed coefficients c_0..c_n (OpenMM's AMOEBA convention). The energy
// -1/2 mu.E is then an explicit function of the positions and the forces are its exact gradient,
// chain through the n dipole-field evaluations included, so MD conserves energy. Its accuracy
// depends on how well the coefficients fit the system (polff.extrapolation fits them).

#include <string>
#include <vector>

#include "openmm/Context.h"
#include "openmm/Force.h"
#include "openmm/Vec3.h"

namespace elyte {

class PolarizationForce : public OpenMM::Force {
public:
    enum NonbondedMethod {
        NoCutoff = 0,  // every pair, no periodic images
        Ewald = 1,     // periodic: real space within the cutoff plus an explicit reciprocal sum
        PME = 2,       // periodic: reciprocal sum by smooth PME on the CPU platform; the Reference
                       // platform evaluates the exact Ewald sum that PME approximates (its oracle)
    };
    enum PolarizationType {
        Mutual = 0,        // dipoles converged by preconditioned conjugate gradients to the tolerance
        Extrapolated = 1,  // a fixed combination of perturbation orders (see above): n field evaluations
    };

    PolarizationForce();

    int getNumParticles() const { return static_cast<int>(particles.size()); }
    /** Add a particle: charge (e), polarizability (nm^3, 0 for none), Thole damping volume (nm^3). */
    int addParticle(double charge, double polarizability, double dampingVolume);
    void getParticleParameters(int index, double& charge, double& polarizability, double& dampingVolume) const;
    void setParticleParameters(int index, double charge, double polarizability, double dampingVolume);

    int getNumExceptions() const { return static_cast<int>(exceptions.size()); }
    /**
     * Scale the interactions of one pair: chargeScale multiplies the charge-charge energy,
     * fieldScale the permanent field each charge makes at the other's dipole, dipoleScale the
     * dipole-dipole coupling. Pairs without an exception have all three equal to 1.
     */
    int addException(int particle1, int particle2, double chargeScale, double fieldScale, double dipoleScale);
    void getExceptionParameters(int index, int& particle1, int& particle2, double& chargeScale, double& fieldScale,
                                double& dipoleScale) const;
    void setExceptionParameters(int index, int particle1, int particle2, double chargeScale, double fieldScale,
                                double dipoleScale);

    double getTholeA() const { return tholeA; }
    void setTholeA(double a) { tholeA = a; }
    NonbondedMethod getNonbondedMethod() const { return method; }
    void setNonbondedMethod(NonbondedMethod m) { method = m; }
    /** Real-space cutoff (nm), periodic methods only. */
    double getCutoffDistance() const { return cutoff; }
    void setCutoffDistance(double distance) { cutoff = distance; }
    /** Relative accuracy of the Ewald sum: erfc(beta rc) ~ tol, exp(-k^2 / 4 beta^2) ~ tol. */
    double getEwaldErrorTolerance() const { return ewaldTolerance; }
    void setEwaldErrorTolerance(double tolerance) { ewaldTolerance = tolerance; }
    PolarizationType getPolarizationType() const { return polarizationType; }
    void setPolarizationType(PolarizationType type) { polarizationType = type; }
    /** Coefficients c_0..c_n of the partial sums mu_0..mu_n (Extrapolated); the default is
     * AMOEBA's OPT3 {-0.154, 0.017, 0.658, 0.474}, fitted for water. */
    const std::vector<double>& getExtrapolationCoefficients() const { return extrapolation; }
    void setExtrapolationCoefficients(const std::vector<double>& coefficients);
    /** Convergence: every atom's residual |mu - alpha (E + T mu)| below this (e*nm). */
    double getMutualInducedTolerance() const { return mutualTolerance; }
    void setMutualInducedTolerance(double tolerance) { mutualTolerance = tolerance; }
    int getMutualInducedMaxIterations() const { return maxIterations; }
    void setMutualInducedMaxIterations(int iterations) { maxIterations = iterations; }
    /** Whether the charge-charge energy is part of this force (false when another force has it). */
    bool getIncludeChargeChargeEnergy() const { return includeChargeCharge; }
    void setIncludeChargeChargeEnergy(bool include) { includeChargeCharge = include; }

    /** The induced dipoles (e*nm) of the last evaluation in ``context``. */
    void getInducedDipoles(OpenMM::Context& context, std::vector<OpenMM::Vec3>& dipoles);
    /** Copy changed particle and exception parameters (same exception pairs) into ``context``. */
    void updateParametersInContext(OpenMM::Context& context);
    bool usesPeriodicBoundaryConditions() const override { return method != NoCutoff; }

protected:
    OpenMM::ForceImpl* createImpl() const override;

private:
    struct Particle {
        double charge, polarizability, dampingVolume;
    };
    struct Exception {
        int particle1, particle2;
        double chargeScale, fieldScale, dipoleScale;
    };
    void checkParticle(int index) const;
    std::vector<Particle> particles;
    std::vector<Exception> exceptions;
    double tholeA = 0.39;
    NonbondedMethod method = NoCutoff;
    double cutoff = 1.0;
    double ewaldTolerance = 5e-4;
    PolarizationType polarizationType = Mutual;
    std::vector<double> extrapolation = {-0.154, 0.017, 0.658, 0.474};
    double mutualTolerance = 1e-9;
    int maxIterations = 500;
    bool includeChargeCharge = true;
};

}  // namespace elyte

#endif

#ifndef ELYTE_EXPLICIT_EWALD_H_
#define ELYTE_EXPLICIT_EWALD_H_

// The reciprocal-space Ewald sum over every k-vector with |k| < kmax, as elyte.electrostatics.ewald
// sums it (one of each +-k pair): exact for its kmax, O(N K); the Reference platform's oracle.

#include <complex>
#include <vector>

#include "ReciprocalSpace.h"

namespace elyte {

class ExplicitEwald : public ReciprocalSpace {
public:
    ExplicitEwald(double beta, double kmax) : beta(beta), kmax(kmax) {}
    void setup(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, const Parallel& parallel) override;
    /** The potential is S(k), stored as (Re, Im) pairs. */
    double potential(const std::vector<double>* q, const std::vector<OpenMM::Vec3>* mu, std::vector<double>& phi,
                     const Parallel& parallel) override;
    void addDipoleDerivative(const std::vector<double>& phi, double factor, std::vector<OpenMM::Vec3>& out,
                             const Parallel& parallel) const override;
    void addPositionDerivative(const std::vector<double>& phi, const std::vector<double>* q,
                               const std::vector<OpenMM::Vec3>* mu, double factor, std::vector<OpenMM::Vec3>& out,
                               const Parallel& parallel) const override;

private:
    struct KVector {
        int n[3];
        OpenMM::Vec3 k;
        double weight;  // 2 * 4 pi / V * exp(-k^2 / 4 beta^2) / k^2 (two for the +-k pair)
    };
    std::complex<double> phase(int atom, const KVector& k) const;  // exp(i k.x_atom)
    double beta, kmax;
    int atoms = 0;
    std::vector<KVector> kvectors;
    int range[3] = {0, 0, 0};
    size_t stride = 0;                       // table entries per dimension
    std::vector<std::complex<double>> eikx;  // exp(2 pi i n f_d): [dim][n + range][atom]
};

}  // namespace elyte

#endif

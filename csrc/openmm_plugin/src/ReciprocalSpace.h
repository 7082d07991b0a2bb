#ifndef ELYTE_RECIPROCAL_SPACE_H_
#define ELYTE_RECIPROCAL_SPACE_H_

// The reciprocal-space part of an Ewald sum of point charges and point dipoles,
//   E = (2 pi / V) sum_{k != 0} exp(-k^2 / 4 beta^2) / k^2 |S(k)|^2,  S(k) = sum_j (q_j + i mu_j.k) exp(i k.x_j)
// (e^2/nm), behind one interface: the explicit sum over k-vectors (ExplicitEwald, the oracle) or
// smooth PME (DipolePme, the fast path). potential() returns E and an opaque "potential" from which
// the derivatives follow: with it, addDipoleDerivative adds factor * (1/2) dE/dmu_j and
// addPositionDerivative adds factor * (1/2) d/dx_j of E with the atoms' own q_j, mu_j as given
// (so the field of the sources is addDipoleDerivative with factor -2).

#include <vector>

#include "Parallel.h"
#include "openmm/Vec3.h"

namespace elyte {

class ReciprocalSpace {
public:
    virtual ~ReciprocalSpace() = default;
    /** Prepare for these positions and box (nm). */
    virtual void setup(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, const Parallel& parallel) = 0;
    /** E (e^2/nm) of charges and/or dipoles (either may be null), and its potential. */
    virtual double potential(const std::vector<double>* q, const std::vector<OpenMM::Vec3>* mu, std::vector<double>& phi,
                             const Parallel& parallel) = 0;
    virtual void addDipoleDerivative(const std::vector<double>& phi, double factor, std::vector<OpenMM::Vec3>& out,
                                     const Parallel& parallel) const = 0;
    virtual void addPositionDerivative(const std::vector<double>& phi, const std::vector<double>* q,
                                       const std::vector<OpenMM::Vec3>* mu, double factor, std::vector<OpenMM::Vec3>& out,
                                       const Parallel& parallel) const = 0;
};

}  // namespace elyte

#endif

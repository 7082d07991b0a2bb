#ifndef ELYTE_DIPOLE_PME_H_
#define ELYTE_DIPOLE_PME_H_

// Smooth particle-mesh Ewald for point charges and point dipoles (order-5 B-splines), the CPU
// platform's reciprocal-space sum. Approximates E = (2 pi / V) sum_{k != 0} exp(-k^2/4b^2)/k^2 |S(k)|^2,
// S(k) = sum_j (q_j + i mu_j.k) exp(i k.x_j), by spreading Q(g) = sum_j (q_j + mu_j.grad_j) W(u_j - g)
// on a grid, one forward and one backward real FFT giving the grid potential phi, and E = sum_g Q phi.
// Derivatives: dE/dmu_j = 2 sum_g phi grad W, dE/dx_j = 2 sum_g phi (q_j grad W + (grad grad W) mu_j).

#include <complex>
#include <functional>
#include <vector>

#include "Fft.h"
#include "ReciprocalSpace.h"
#include "openmm/Vec3.h"

namespace elyte {

/** The smallest grid size for a box edge of ``length`` (nm): OpenMM's rule for PME, at least 2 * order. */
int pmeGridMinimum(double length, double beta, double tolerance);
/** The influence function (2 pi / V) exp(-k^2/4b^2)/k^2 |b(m)|^2 (order-5 B-splines) at each point of
 * the half spectrum of a grid of ``size`` (k_z <= size[2] / 2 fastest), for the box (nm). */
std::vector<double> pmeInfluence(const int size[3], const OpenMM::Vec3* box, double beta);

class DipolePme : public ReciprocalSpace {
public:
    static const int ORDER = 5;
    DipolePme(double beta, double tolerance) : beta(beta), tolerance(tolerance) {}
    /** B-spline weights of every atom (and the grid and its kernel when the box changed). */
    void setup(const std::vector<OpenMM::Vec3>& positions, const OpenMM::Vec3* box, const Parallel& parallel) override;
    /** The grid potential phi of charges and/or dipoles; returns the energy sum_g Q phi (e^2/nm). */
    double potential(const std::vector<double>* q, const std::vector<OpenMM::Vec3>* mu, std::vector<double>& phi,
                     const Parallel& parallel) override;
    /** out_j += factor * sum_g phi grad W_j. */
    void addDipoleDerivative(const std::vector<double>& phi, double factor, std::vector<OpenMM::Vec3>& out,
                             const Parallel& parallel) const override;
    /** out_j += factor * sum_g phi (q_j grad W_j + (grad grad W_j) mu_j); q or mu may be null. */
    void addPositionDerivative(const std::vector<double>& phi, const std::vector<double>* q,
                               const std::vector<OpenMM::Vec3>* mu, double factor, std::vector<OpenMM::Vec3>& out,
                               const Parallel& parallel) const override;
    const int* gridSize() const { return size; }

private:
    struct Spline {
        int index[3][ORDER];  // grid index of point k in each dimension (base - k, wrapped); x and y premultiplied
        double w[3][ORDER], dw[3][ORDER], d2w[3][ORDER];
    };
    void setGrid(const OpenMM::Vec3* box);
    double beta, tolerance;
    int size[3] = {0, 0, 0};
    OpenMM::Vec3 lastBox[3];
    OpenMM::Vec3 recip[3];  // fractional coordinate f_d = recip[d] . x
    std::vector<Fft1d> plans;
    std::vector<double> kernel;  // (2 pi / V) exp(-k^2/4b^2)/k^2 |b(m)|^2 per point of the half spectrum
    std::vector<Spline> splines;
    std::vector<std::vector<double>> sources;     // Q(g) spread by each thread (the first holds their sum)
    std::vector<std::complex<double>> spectrum;  // its transform, k_z <= size[2] / 2
};

}  // namespace elyte

#endif

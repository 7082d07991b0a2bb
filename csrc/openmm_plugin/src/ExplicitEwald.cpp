#include "ExplicitEwald.h"

#include <algorithm>
#include <cmath>

namespace elyte {

using OpenMM::Vec3;
using Complex = std::complex<double>;

void ExplicitEwald::setup(const std::vector<Vec3>& positions, const Vec3* box, const Parallel& parallel) {
    const double volume = box[0].dot(box[1].cross(box[2]));
    const Vec3 recip[3] = {box[1].cross(box[2]) / volume, box[2].cross(box[0]) / volume, box[0].cross(box[1]) / volume};
    for (int d = 0; d < 3; d++)
        range[d] = static_cast<int>(std::ceil(kmax * std::sqrt(box[d].dot(box[d])) / (2.0 * M_PI)));
    kvectors.clear();
    for (int a = -range[0]; a <= range[0]; a++)
        for (int b = -range[1]; b <= range[1]; b++)
            for (int c = -range[2]; c <= range[2]; c++) {
                const int first = a != 0 ? a : (b != 0 ? b : c);
                if (first <= 0) continue;  // one of each +-k pair
                const Vec3 k = (recip[0] * a + recip[1] * b + recip[2] * c) * (2.0 * M_PI);
                const double k2 = k.dot(k);
                if (k2 >= kmax * kmax) continue;
                kvectors.push_back({{a, b, c}, k, 8.0 * M_PI / volume * std::exp(-k2 / (4.0 * beta * beta)) / k2});
            }
    // exp(2 pi i n f_d) for every atom, dimension and |n| <= range, by recurrence
    atoms = static_cast<int>(positions.size());
    stride = 0;
    for (int d = 0; d < 3; d++) stride = std::max(stride, static_cast<size_t>(2 * range[d] + 1));
    eikx.assign(3 * stride * atoms, Complex(0, 0));
    const int n = atoms;
    parallel([&](int t, int count) {
        for (int atom = t; atom < n; atom += count)
            for (int d = 0; d < 3; d++) {
                const double angle = 2.0 * M_PI * recip[d].dot(positions[atom]);
                const Complex step(std::cos(angle), std::sin(angle));
                Complex* row = &eikx[(d * stride) * n];
                const int m = range[d];
                row[m * n + atom] = 1.0;
                for (int k = 1; k <= m; k++) {
                    row[(m + k) * n + atom] = row[(m + k - 1) * n + atom] * step;
                    row[(m - k) * n + atom] = std::conj(row[(m + k) * n + atom]);
                }
            }
    });
}

inline Complex ExplicitEwald::phase(int atom, const KVector& k) const {
    const size_t n = atoms;
    Complex e = eikx[(0 * stride + k.n[0] + range[0]) * n + atom];
    e *= eikx[(1 * stride + k.n[1] + range[1]) * n + atom];
    e *= eikx[(2 * stride + k.n[2] + range[2]) * n + atom];
    return e;
}

double ExplicitEwald::potential(const std::vector<double>* q, const std::vector<Vec3>* mu, std::vector<double>& phi,
                                const Parallel& parallel) {
    const int numK = static_cast<int>(kvectors.size());
    phi.assign(2 * numK, 0.0);
    parallel([&](int t, int count) {
        for (int k = t; k < numK; k += count) {
            Complex sum(0, 0);
            for (int j = 0; j < atoms; j++) {
                const Complex amplitude(q ? (*q)[j] : 0.0, mu ? (*mu)[j].dot(kvectors[k].k) : 0.0);
                sum += amplitude * phase(j, kvectors[k]);
            }
            phi[2 * k] = sum.real();
            phi[2 * k + 1] = sum.imag();
        }
    });
    double energy = 0;
    for (int k = 0; k < numK; k++) energy += 0.5 * kvectors[k].weight * (phi[2 * k] * phi[2 * k] + phi[2 * k + 1] * phi[2 * k + 1]);
    return energy;
}

void ExplicitEwald::addDipoleDerivative(const std::vector<double>& phi, double factor, std::vector<Vec3>& out,
                                        const Parallel& parallel) const {
    // dE/dmu_j = sum_k w k Re(i e^{ik.x_j} conj(S)) = sum_k w k (c Im S - s Re S)
    parallel([&](int t, int count) {
        for (int a = t; a < atoms; a += count) {
            Vec3 sum;
            for (size_t k = 0; k < kvectors.size(); k++) {
                const Complex e = phase(a, kvectors[k]);
                sum += kvectors[k].k * (kvectors[k].weight * (e.real() * phi[2 * k + 1] - e.imag() * phi[2 * k]));
            }
            out[a] += sum * (0.5 * factor);
        }
    });
}

void ExplicitEwald::addPositionDerivative(const std::vector<double>& phi, const std::vector<double>* q,
                                          const std::vector<Vec3>* mu, double factor, std::vector<Vec3>& out,
                                          const Parallel& parallel) const {
    // dE/dx_j = sum_k w k [(q c - m s) Im S - (q s + m c) Re S], m = mu_j.k
    parallel([&](int t, int count) {
        for (int a = t; a < atoms; a += count) {
            const double charge = q ? (*q)[a] : 0.0;
            Vec3 sum;
            for (size_t k = 0; k < kvectors.size(); k++) {
                const Complex e = phase(a, kvectors[k]);
                const double m = mu ? (*mu)[a].dot(kvectors[k].k) : 0.0, c = e.real(), s = e.imag();
                sum += kvectors[k].k *
                       (kvectors[k].weight * ((charge * c - m * s) * phi[2 * k + 1] - (charge * s + m * c) * phi[2 * k]));
            }
            out[a] += sum * (0.5 * factor);
        }
    });
}

}  // namespace elyte

#include "DipolePme.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace elyte {

using OpenMM::Vec3;
using Complex = std::complex<double>;

namespace {

// Cardinal B-spline values M_p(w + k), k = 0..p-1, and first and second derivatives of M_ORDER.
void bspline(double w, double* value, double* first, double* second) {
    const int n = DipolePme::ORDER;
    double m[n + 1][n + 1] = {};
    m[1][0] = 1.0;
    for (int p = 2; p <= n; p++)
        for (int k = 0; k < p; k++) {
            const double here = k < p - 1 ? m[p - 1][k] : 0.0, left = k > 0 ? m[p - 1][k - 1] : 0.0;
            m[p][k] = ((w + k) * here + (p - w - k) * left) / (p - 1);
        }
    auto at = [&](int p, int k) { return (k >= 0 && k < p) ? m[p][k] : 0.0; };
    for (int k = 0; k < n; k++) {
        value[k] = m[n][k];
        first[k] = at(n - 1, k) - at(n - 1, k - 1);
        second[k] = at(n - 2, k) - 2.0 * at(n - 2, k - 1) + at(n - 2, k - 2);
    }
}

}  // namespace

int pmeGridMinimum(double length, double beta, double tolerance) {
    return std::max(2 * DipolePme::ORDER, static_cast<int>(std::ceil(2.0 * beta * length / (3.0 * std::pow(tolerance, 0.2)))));
}

std::vector<double> pmeInfluence(const int size[3], const Vec3* box, double beta) {
    const double volume = box[0].dot(box[1].cross(box[2]));
    const Vec3 recip[3] = {box[1].cross(box[2]) / volume, box[2].cross(box[0]) / volume, box[0].cross(box[1]) / volume};
    // |b(m)|^2 = 1 / |sum_{j=1}^{n-1} M_n(j) exp(2 pi i m j / K)|^2 per dimension
    const int order = DipolePme::ORDER;
    double integer[order], unused1[order], unused2[order];
    bspline(0.0, integer, unused1, unused2);  // M_n(k), k = 0..n-1
    std::vector<double> modulus[3];
    for (int d = 0; d < 3; d++) {
        modulus[d].resize(size[d]);
        for (int m = 0; m < size[d]; m++) {
            Complex sum = 0;
            for (int j = 1; j < order; j++) sum += integer[j] * std::polar(1.0, 2.0 * M_PI * m * j / size[d]);
            const double norm = std::norm(sum);
            modulus[d][m] = norm > 1e-10 ? 1.0 / norm : 0.0;  // odd order: zero at the Nyquist frequency
        }
    }
    const int depth = size[2] / 2 + 1;
    std::vector<double> influence(static_cast<size_t>(size[0]) * size[1] * depth, 0.0);
    for (int a = 0; a < size[0]; a++)
        for (int b = 0; b < size[1]; b++)
            for (int c = 0; c < depth; c++) {
                const int ma = a <= size[0] / 2 ? a : a - size[0], mb = b <= size[1] / 2 ? b : b - size[1],
                          mc = c <= size[2] / 2 ? c : c - size[2];
                if (ma == 0 && mb == 0 && mc == 0) continue;
                const Vec3 k = (recip[0] * ma + recip[1] * mb + recip[2] * mc) * (2.0 * M_PI);
                const double k2 = k.dot(k);
                influence[(static_cast<long>(a) * size[1] + b) * depth + c] =
                    2.0 * M_PI / volume * std::exp(-k2 / (4.0 * beta * beta)) / k2 * modulus[0][a] * modulus[1][b] *
                    modulus[2][c];
            }
    return influence;
}

void DipolePme::setGrid(const Vec3* box) {
    const double volume = box[0].dot(box[1].cross(box[2]));
    recip[0] = box[1].cross(box[2]) / volume;
    recip[1] = box[2].cross(box[0]) / volume;
    recip[2] = box[0].cross(box[1]) / volume;
    if (size[0] == 0) {  // the grid is chosen once, from the first box (OpenMM's rule for PME)
        plans.clear();
        for (int d = 0; d < 3; d++) {
            size[d] = Fft1d::goodSize(pmeGridMinimum(std::sqrt(box[d].dot(box[d])), beta, tolerance));
            plans.emplace_back(size[d]);
        }
    }
    kernel = pmeInfluence(size, box, beta);
    for (int d = 0; d < 3; d++) lastBox[d] = box[d];
}

void DipolePme::setup(const std::vector<Vec3>& positions, const Vec3* box, const Parallel& parallel) {
    bool changed = size[0] == 0;
    for (int d = 0; d < 3; d++) changed = changed || (box[d] - lastBox[d]).dot(box[d] - lastBox[d]) != 0.0;
    if (changed) setGrid(box);
    const int n = static_cast<int>(positions.size());
    splines.resize(n);
    parallel([&](int t, int count) {
        for (int atom = t; atom < n; atom += count) {
            Spline& s = splines[atom];
            for (int d = 0; d < 3; d++) {
                double u = recip[d].dot(positions[atom]);
                u = (u - std::floor(u)) * size[d];
                const int base = static_cast<int>(std::floor(u));
                const long stride = d == 0 ? static_cast<long>(size[1]) * size[2] : (d == 1 ? size[2] : 1);
                for (int k = 0; k < ORDER; k++) s.index[d][k] = static_cast<int>(((base - k + 2 * size[d]) % size[d]) * stride);
                bspline(u - base, s.w[d], s.dw[d], s.d2w[d]);
            }
        }
    });
}

double DipolePme::potential(const std::vector<double>* q, const std::vector<Vec3>* mu, std::vector<double>& phi,
                            const Parallel& parallel) {
    const size_t points = static_cast<size_t>(size[0]) * size[1] * size[2];
    const int n = static_cast<int>(splines.size());
    std::atomic<int> threads{1};
    parallel([&](int, int count) { threads = count; });
    sources.resize(threads);
    parallel([&](int t, int count) {  // each thread spreads its atoms on its own grid
        std::vector<double>& grid = sources[t];
        grid.assign(points, 0.0);
        for (int atom = t; atom < n; atom += count) {
            const Spline& s = splines[atom];
            const double charge = q ? (*q)[atom] : 0.0;
            double mu_u[3] = {0, 0, 0};  // dipole in grid units: mu . grad u_d
            if (mu)
                for (int d = 0; d < 3; d++) mu_u[d] = size[d] * recip[d].dot((*mu)[atom]);
            for (int a = 0; a < ORDER; a++)
                for (int b = 0; b < ORDER; b++) {
                    const double wab = s.w[0][a] * s.w[1][b];
                    const double along = charge * wab + mu_u[0] * s.dw[0][a] * s.w[1][b] + mu_u[1] * s.w[0][a] * s.dw[1][b];
                    const double across = mu_u[2] * wab;
                    double* row = &grid[s.index[0][a] + s.index[1][b]];
                    for (int c = 0; c < ORDER; c++) row[s.index[2][c]] += along * s.w[2][c] + across * s.dw[2][c];
                }
        }
    });
    parallel([&](int t, int count) {  // sum the threads' grids into the first
        const size_t chunk = (points + count - 1) / count, from = t * chunk, to = std::min(points, from + chunk);
        for (size_t other = 1; other < sources.size(); other++)
            for (size_t g = from; g < to; g++) sources[0][g] += sources[other][g];
    });
    realFft3d(sources[0], spectrum, plans.data(), parallel);
    for (size_t g = 0; g < spectrum.size(); g++) spectrum[g] *= kernel[g];
    inverseRealFft3d(spectrum, phi, plans.data(), parallel);
    double energy = 0;
    for (size_t g = 0; g < points; g++) energy += sources[0][g] * phi[g];
    return energy;
}

void DipolePme::addDipoleDerivative(const std::vector<double>& phi, double factor, std::vector<Vec3>& out,
                                    const Parallel& parallel) const {
    const int n = static_cast<int>(splines.size());
    parallel([&](int t, int count) {
        for (int atom = t; atom < n; atom += count) {
            const Spline& s = splines[atom];
            double gu[3] = {0, 0, 0};
            for (int a = 0; a < ORDER; a++)
                for (int b = 0; b < ORDER; b++)
                    for (int c = 0; c < ORDER; c++) {
                        const double p = phi[s.index[0][a] + s.index[1][b] + s.index[2][c]];
                        gu[0] += p * s.dw[0][a] * s.w[1][b] * s.w[2][c];
                        gu[1] += p * s.w[0][a] * s.dw[1][b] * s.w[2][c];
                        gu[2] += p * s.w[0][a] * s.w[1][b] * s.dw[2][c];
                    }
            out[atom] += (recip[0] * (size[0] * gu[0]) + recip[1] * (size[1] * gu[1]) + recip[2] * (size[2] * gu[2])) * factor;
        }
    });
}

void DipolePme::addPositionDerivative(const std::vector<double>& phi, const std::vector<double>* q,
                                      const std::vector<Vec3>* mu, double factor, std::vector<Vec3>& out,
                                      const Parallel& parallel) const {
    const int n = static_cast<int>(splines.size());
    parallel([&](int t, int count) {
        for (int atom = t; atom < n; atom += count) {
            const Spline& s = splines[atom];
            const double charge = q ? (*q)[atom] : 0.0;
            double mu_u[3] = {0, 0, 0};
            if (mu)
                for (int d = 0; d < 3; d++) mu_u[d] = size[d] * recip[d].dot((*mu)[atom]);
            double gu[3] = {0, 0, 0};
            for (int a = 0; a < ORDER; a++)
                for (int b = 0; b < ORDER; b++)
                    for (int c = 0; c < ORDER; c++) {
                        const double p = phi[s.index[0][a] + s.index[1][b] + s.index[2][c]];
                        const double w0 = s.w[0][a], w1 = s.w[1][b], w2 = s.w[2][c];
                        const double d0 = s.dw[0][a], d1 = s.dw[1][b], d2 = s.dw[2][c];
                        // second derivatives of W in grid units, contracted with mu_u
                        const double h00 = s.d2w[0][a] * w1 * w2, h11 = w0 * s.d2w[1][b] * w2, h22 = w0 * w1 * s.d2w[2][c];
                        const double h01 = d0 * d1 * w2, h02 = d0 * w1 * d2, h12 = w0 * d1 * d2;
                        gu[0] += p * (charge * d0 * w1 * w2 + mu_u[0] * h00 + mu_u[1] * h01 + mu_u[2] * h02);
                        gu[1] += p * (charge * w0 * d1 * w2 + mu_u[0] * h01 + mu_u[1] * h11 + mu_u[2] * h12);
                        gu[2] += p * (charge * w0 * w1 * d2 + mu_u[0] * h02 + mu_u[1] * h12 + mu_u[2] * h22);
                    }
            out[atom] += (recip[0] * (size[0] * gu[0]) + recip[1] * (size[1] * gu[1]) + recip[2] * (size[2] * gu[2])) * factor;
        }
    });
}

}  // namespace elyte

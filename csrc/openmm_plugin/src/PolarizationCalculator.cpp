#include "PolarizationCalculator.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "DipolePme.h"
#include "ExplicitEwald.h"
#include "openmm/OpenMMException.h"
#include "openmm/reference/SimTKOpenMMRealType.h"

namespace elyte {

using OpenMM::OpenMMException;
using OpenMM::Vec3;

namespace {

const double SQRT_PI = std::sqrt(M_PI);

// minimum-image displacement in a reduced triclinic box (a along x, b in the xy plane)
inline Vec3 minimumImage(Vec3 d, const Vec3* box) {
    d -= box[2] * std::round(d[2] / box[2][2]);
    d -= box[1] * std::round(d[1] / box[1][1]);
    d -= box[0] * std::round(d[0] / box[0][0]);
    return d;
}

// rows of the inverse-transpose of the box: fractional coordinate f_d = recip[d] . x
void reciprocalBox(const Vec3* box, Vec3* recip, double& volume) {
    volume = box[0].dot(box[1].cross(box[2]));
    recip[0] = box[1].cross(box[2]) / volume;
    recip[1] = box[2].cross(box[0]) / volume;
    recip[2] = box[0].cross(box[1]) / volume;
}

// the largest residual of the dipoles, e*nm: max_a sqrt(alpha_a) |r_a| for the scaled residual r
double largestResidual(const std::vector<Vec3>& residual, const std::vector<double>& root) {
    double worst = 0;
    for (size_t a = 0; a < residual.size(); a++) worst = std::max(worst, root[a] * std::sqrt(residual[a].dot(residual[a])));
    return worst;
}

// the cell itself and the 13 neighbour cells "ahead" of it: every pair of neighbour cells once
const int HALF_SHELL[14][3] = {{0, 0, 0},  {0, 0, 1},   {0, 1, -1}, {0, 1, 0},  {0, 1, 1},  {1, -1, -1}, {1, -1, 0},
                               {1, -1, 1}, {1, 0, -1},  {1, 0, 0},  {1, 0, 1},  {1, 1, -1}, {1, 1, 0},   {1, 1, 1}};

}  // namespace

PolarizationCalculator::PolarizationCalculator(const PolarizationParameters& p, const PolarizationSettings& s)
    : settings(s) {
    setParameters(p);
    if (settings.periodic) {
        // the same choice as elyte.electrostatics.ewald.EwaldParameters.from_tolerance
        beta = std::sqrt(-std::log(2.0 * settings.ewaldTolerance)) / settings.cutoff;
        kmax = 2.0 * beta * std::sqrt(-std::log(settings.ewaldTolerance));
        if (settings.usePme)
            reciprocal = std::make_unique<DipolePme>(beta, settings.ewaldTolerance);
        else
            reciprocal = std::make_unique<ExplicitEwald>(beta, kmax);
        if (settings.useCellList) screening = std::make_unique<ScreeningTable>(beta, listCutoff());
    }
}

void PolarizationCalculator::setParameters(const PolarizationParameters& p) {
    parameters = p;
    preconditioning = PRECONDITIONING;  // new parameters: the preconditioner may suit them again
    const int n = static_cast<int>(p.charge.size());
    rootDamping.resize(n);
    for (int a = 0; a < n; a++) rootDamping[a] = std::sqrt(p.damping[a]);
    partners.assign(n, {});
    for (int k = 0; k < static_cast<int>(p.exceptions.size()); k++) {
        auto& e = parameters.exceptions[k];
        if (e.i > e.j) std::swap(e.i, e.j);
        partners[e.i].emplace_back(e.j, k);
    }
    lastPartner.assign(n, -1);
    for (auto& list : partners) {
        std::sort(list.begin(), list.end());
        if (!list.empty()) lastPartner[&list - &partners[0]] = list.back().first;
        for (size_t a = 1; a < list.size(); a++)
            if (list[a].first == list[a - 1].first)
                throw OpenMMException("PolarizationForce: more than one exception for the pair " +
                                      std::to_string(&list - &partners[0]) + ", " + std::to_string(list[a].first));
    }
}

int PolarizationCalculator::exceptionOf(int i, int j) const {
    if (j > lastPartner[i]) return -1;  // most pairs: no scaled partner of i this far up
    const auto& list = partners[i];
    const auto hit = std::lower_bound(list.begin(), list.end(), std::make_pair(j, -1));
    return (hit != list.end() && hit->first == j) ? hit->second : -1;
}

void PolarizationCalculator::parallel(OpenMM::ThreadPool* threads, const std::function<void(int, int)>& task) const {
    if (threads == nullptr || threads->getNumThreads() == 1) {
        task(0, 1);
        return;
    }
    const int count = threads->getNumThreads();
    threads->execute([&](OpenMM::ThreadPool&, int t) { task(t, count); });
    threads->waitForThreads();
}

Parallel PolarizationCalculator::gridParallel(OpenMM::ThreadPool* threads) const {
    return [this, threads](const std::function<void(int, int)>& task) { parallel(threads, task); };
}

PolarizationCalculator::Kernels PolarizationCalculator::kernels(double r, int i, int j, int exception) const {
    double cs = 1.0, fs = 1.0, ds = 1.0;
    if (exception >= 0) {
        const auto& e = parameters.exceptions[exception];
        cs = e.chargeScale;
        fs = e.fieldScale;
        ds = e.dipoleScale;
    }
    const double invR = 1.0 / r, invR2 = invR * invR, invR3 = invR2 * invR, invR5 = invR3 * invR2;
    // erfc-screened kernels: B0 = erfc(beta r)/r, B(n+1) = -(1/r) dBn/dr
    double complement = 1.0, gauss = 0.0;
    if (beta > 0) {
        if (screening)
            screening->evaluate(r, complement, gauss);
        else {
            complement = std::erfc(beta * r);
            gauss = std::exp(-beta * beta * r * r);
        }
        gauss *= 2.0 * beta / SQRT_PI;
    }
    const double b0 = complement * invR;
    const double b1 = (b0 + gauss) * invR2;
    const double b2 = (3.0 * b1 + 2.0 * beta * beta * gauss) * invR2;
    const double b3 = (5.0 * b2 + 4.0 * beta * beta * beta * beta * gauss) * invR2;
    // Thole damping; a non-polarizable partner (zero damping volume) leaves the pair undamped
    const double s = rootDamping[i] * rootDamping[j];
    double l3 = 1.0, l5 = 1.0, dl3 = 0.0, dl5 = 0.0;  // dl: d/dr divided by r
    if (s > 0 && settings.tholeA * r * r * r < 50.0 * s) {  // beyond, exp(-au3) < 2e-22: undamped
        const double au3 = settings.tholeA * r * r * r / s, decay = std::exp(-au3);
        l3 = 1.0 - decay;
        l5 = 1.0 - (1.0 + au3) * decay;
        dl3 = 3.0 * au3 * invR2 * decay;
        dl5 = au3 * dl3;
    }
    Kernels k;
    k.c3 = b1 - (1.0 - fs * l3) * invR3;
    k.d3 = b1 - (1.0 - ds * l3) * invR3;
    k.d5 = b2 / 3.0 - (1.0 - ds * l5) * invR5;
    k.slopes.a0 = b0 - (1.0 - cs) * invR;
    k.slopes.a0Slope = -b1 + (1.0 - cs) * invR3;
    k.slopes.c3 = -b2 + (fs * dl3 + 3.0 * (1.0 - fs * l3) * invR2) * invR3;
    k.slopes.d3 = -b2 + (ds * dl3 + 3.0 * (1.0 - ds * l3) * invR2) * invR3;
    k.slopes.d5 = -b3 / 3.0 + (ds * dl5 + 5.0 * (1.0 - ds * l5) * invR2) * invR5;
    return k;
}

void PolarizationCalculator::buildPairs(const std::vector<Vec3>& positions, const Vec3* box,
                                        OpenMM::ThreadPool* threads) {
    const int count = threads == nullptr ? 1 : threads->getNumThreads();
    if (!settings.useCellList || !neighborsValid(positions, box, count)) {
        neighbors.resize(count);  // cleared, not freed: a list of the same size follows
        for (auto& list : neighbors) list.clear();
        if (settings.periodic && settings.useCellList)
            addPairsCells(positions, box, threads);
        else
            addPairsAllPairs(positions, box);
        balanceNeighbors();
        listPositions = positions;
        for (int d = 0; d < 3 && settings.periodic; d++) listBox[d] = box[d];
    }
    finishPairs(positions, threads);
}

bool PolarizationCalculator::neighborsValid(const std::vector<Vec3>& positions, const Vec3* box, int count) const {
    // the padded list stays valid until some atom moved half the padding (or the box changed)
    if (static_cast<int>(neighbors.size()) != count || listPositions.size() != positions.size()) return false;
    for (int d = 0; d < 3 && settings.periodic; d++)
        if ((box[d] - listBox[d]).dot(box[d] - listBox[d]) != 0.0) return false;
    const double limit = 0.25 * PADDING * PADDING;
    for (size_t a = 0; a < positions.size(); a++) {
        const Vec3 moved = positions[a] - listPositions[a];
        if (moved.dot(moved) > limit) return false;
    }
    return true;
}

double PolarizationCalculator::listCutoff() const {
    return settings.cutoff + (settings.useCellList ? PADDING : 0.0);
}

void PolarizationCalculator::addPairsAllPairs(const std::vector<Vec3>& positions, const Vec3* box) {
    const int n = static_cast<int>(positions.size());
    const double cutoff2 = listCutoff() * listCutoff();
    for (int i = 0; i < n; i++) {
        auto partner = partners[i].begin();
        for (int j = i + 1; j < n; j++) {
            while (partner != partners[i].end() && partner->first < j) ++partner;
            const int exception = (partner != partners[i].end() && partner->first == j) ? partner->second : -1;
            Vec3 shift;
            if (settings.periodic) {
                const Vec3 d = positions[j] - positions[i], v = minimumImage(d, box);
                if (exception < 0 && v.dot(v) > cutoff2) continue;
                shift = v - d;
            }
            neighbors[0].push_back({i, j, exception, shift});
        }
    }
}

void PolarizationCalculator::addPairsCells(const std::vector<Vec3>& positions, const Vec3* box,
                                           OpenMM::ThreadPool* threads) {
    const int n = static_cast<int>(positions.size());
    Vec3 recip[3];
    double vol;
    reciprocalBox(box, recip, vol);
    int cells[3];
    for (int d = 0; d < 3; d++) {
        const double width = 1.0 / std::sqrt(recip[d].dot(recip[d]));  // distance between the box's faces
        cells[d] = std::max(1, static_cast<int>(width / listCutoff()));
    }
    if (cells[0] < 3 || cells[1] < 3 || cells[2] < 3) {
        addPairsAllPairs(positions, box);  // too few cells for a cell list to pay off
        return;
    }
    // wrap every atom into the box; the shift that wrapped it is part of each pair's image shift
    std::vector<Vec3> wrapped(n), offset(n);
    const int numCells = cells[0] * cells[1] * cells[2];
    std::vector<int> cellOf(n), start(numCells + 1, 0), atoms(n);
    for (int a = 0; a < n; a++) {
        wrapped[a] = positions[a];
        for (int d = 2; d >= 0; d--) wrapped[a] -= box[d] * std::floor(recip[d].dot(wrapped[a]));
        offset[a] = wrapped[a] - positions[a];
        int c[3];
        for (int d = 0; d < 3; d++) {
            const double f = recip[d].dot(wrapped[a]);
            c[d] = std::min(cells[d] - 1, std::max(0, static_cast<int>(f * cells[d])));
        }
        cellOf[a] = (c[0] * cells[1] + c[1]) * cells[2] + c[2];
        start[cellOf[a] + 1]++;
    }
    for (int c = 0; c < numCells; c++) start[c + 1] += start[c];
    std::vector<int> fill(start.begin(), start.end() - 1);
    for (int a = 0; a < n; a++) atoms[fill[cellOf[a]]++] = a;
    const double cutoff2 = listCutoff() * listCutoff();
    parallel(threads, [&](int t, int count) {
        auto& out = neighbors[t];
        for (int c = t; c < numCells; c += count) {
            const int cx = c / (cells[1] * cells[2]), cy = (c / cells[2]) % cells[1], cz = c % cells[2];
            for (const auto& o : HALF_SHELL) {
                const int ox = cx + o[0], oy = cy + o[1], oz = cz + o[2];
                const int wx = ox < 0 ? -1 : (ox >= cells[0] ? 1 : 0), wy = oy < 0 ? -1 : (oy >= cells[1] ? 1 : 0),
                          wz = oz < 0 ? -1 : (oz >= cells[2] ? 1 : 0);
                const int other = ((ox - wx * cells[0]) * cells[1] + (oy - wy * cells[1])) * cells[2] + oz - wz * cells[2];
                const Vec3 image = box[0] * wx + box[1] * wy + box[2] * wz;  // the neighbour cell's image
                const bool self = other == c;
                for (int p = start[c]; p < start[c + 1]; p++) {
                    const int a = atoms[p];
                    const Vec3 xa = wrapped[a] - image;
                    for (int q = self ? p + 1 : start[other]; q < start[other + 1]; q++) {
                        const int b = atoms[q];
                        const Vec3 v = wrapped[b] - xa;
                        if (v.dot(v) > cutoff2) continue;
                        // listed as (a, b) whatever their order, so that runs of pairs share their first atom
                        out.push_back({a, b, a < b ? exceptionOf(a, b) : exceptionOf(b, a), offset[b] - offset[a] + image});
                    }
                }
            }
        }
    });
    // scaled pairs beyond the cutoff still need their real-space correction
    for (int k = 0; k < static_cast<int>(parameters.exceptions.size()); k++) {
        const auto& e = parameters.exceptions[k];
        const Vec3 d = positions[e.j] - positions[e.i], v = minimumImage(d, box);
        if (v.dot(v) > cutoff2) neighbors[0].push_back({e.i, e.j, k, v - d});
    }
}

void PolarizationCalculator::balanceNeighbors() {
    // the cell list's threads take interleaved cells and come out within a few per cent of each
    // other; the all-pairs list is one thread's: only a list that far off is split again
    if (neighbors.size() < 2) return;
    size_t total = 0, largest = 0;
    for (const auto& list : neighbors) {
        total += list.size();
        largest = std::max(largest, list.size());
    }
    if (largest * neighbors.size() < total + total / 4) return;
    std::vector<Neighbor> all;
    for (auto& list : neighbors) all.insert(all.end(), list.begin(), list.end());
    const size_t count = neighbors.size(), chunk = (all.size() + count - 1) / count;
    for (size_t t = 0; t < count; t++) {
        const size_t from = std::min(all.size(), t * chunk), to = std::min(all.size(), from + chunk);
        neighbors[t].assign(all.begin() + from, all.begin() + to);
    }
}

void PolarizationCalculator::finishPairs(const std::vector<Vec3>& positions, OpenMM::ThreadPool* threads) {
    // the pairs within the cutoff (and every scaled pair), with their kernels at these positions
    pairs.resize(neighbors.size());
    slopes.resize(neighbors.size());
    near.resize(neighbors.size());
    const double cutoff2 = settings.cutoff * settings.cutoff;
    std::vector<int> overlap(neighbors.size(), -1);
    parallel(threads, [&](int t, int) {
        pairs[t].clear();
        slopes[t].clear();
        near[t].clear();
        for (const Neighbor& nb : neighbors[t]) {
            const Vec3 v = positions[nb.j] - positions[nb.i] + nb.shift;
            const double r2 = v.dot(v);
            if (settings.periodic && nb.exception < 0 && r2 > cutoff2) continue;
            if (r2 == 0.0) {
                overlap[t] = static_cast<int>(&nb - neighbors[t].data());
                continue;
            }
            const double r = std::sqrt(r2);
            const Kernels k = kernels(r, nb.i, nb.j, nb.exception);
            pairs[t].push_back({nb.i, nb.j, v, k.c3, k.d3, k.d5});
            slopes[t].push_back(k.slopes);
            if (r2 < NEAR * NEAR) near[t].push_back(pairs[t].back());
        }
    });
    for (size_t t = 0; t < overlap.size(); t++)
        if (overlap[t] >= 0) {
            const Neighbor& nb = neighbors[t][overlap[t]];
            throw OpenMMException("PolarizationForce: particles " + std::to_string(nb.i) + " and " + std::to_string(nb.j) +
                                  " are at the same position");
        }
}

// the field of the dipoles mu over a list of pairs: T_ij mu_j at i and T_ji mu_i at j. The lists
// come in runs of pairs with the same first atom, whose field is summed in registers.
void PolarizationCalculator::addDipolePairs(const std::vector<Pair>& list, const Field& mu, Field& field) {
    int i = -1;
    double mx = 0, my = 0, mz = 0, fx = 0, fy = 0, fz = 0;
    for (const Pair& p : list) {
        if (p.i != i) {
            if (i >= 0) field[i] += Vec3(fx, fy, fz);
            i = p.i;
            mx = mu[i][0], my = mu[i][1], mz = mu[i][2];
            fx = fy = fz = 0;
        }
        const double x = p.v[0], y = p.v[1], z = p.v[2], d3 = p.d3, three = 3.0 * p.d5;
        const Vec3& mj = mu[p.j];
        const double ui = three * (mx * x + my * y + mz * z), uj = three * (mj[0] * x + mj[1] * y + mj[2] * z);
        fx += x * uj - mj[0] * d3;
        fy += y * uj - mj[1] * d3;
        fz += z * uj - mj[2] * d3;
        field[p.j] += Vec3(x * ui - mx * d3, y * ui - my * d3, z * ui - mz * d3);
    }
    if (i >= 0) field[i] += Vec3(fx, fy, fz);
}

PolarizationCalculator::Field PolarizationCalculator::sumPartials(const std::vector<Field>& partial,
                                                                  OpenMM::ThreadPool* threads) const {
    const int n = static_cast<int>(partial[0].size());
    Field sum(n);
    parallel(threads, [&](int t, int count) {
        const int from = n * t / count, to = n * (t + 1) / count;
        for (const Field& f : partial)
            for (int a = from; a < to; a++) sum[a] += f[a];
    });
    return sum;
}

PolarizationCalculator::Field PolarizationCalculator::permanentField(OpenMM::ThreadPool* threads) {
    const int n = static_cast<int>(parameters.charge.size());
    const auto& q = parameters.charge;
    std::vector<Field> partial(pairs.size(), Field(n, Vec3()));
    parallel(threads, [&](int t, int) {
        Field& f = partial[t];
        for (const Pair& p : pairs[t]) {
            f[p.i] -= p.v * (q[p.j] * p.c3);
            f[p.j] += p.v * (q[p.i] * p.c3);
        }
    });
    Field field = sumPartials(partial, threads);
    if (reciprocal) {
        reciprocal->potential(&q, nullptr, chargePotential, gridParallel(threads));
        reciprocal->addDipoleDerivative(chargePotential, -2.0, field, gridParallel(threads));
    }
    return field;
}

PolarizationCalculator::Field PolarizationCalculator::dipoleField(const Field& mu, OpenMM::ThreadPool* threads,
                                                                  std::vector<double>* potential) {
    const int n = static_cast<int>(mu.size());
    std::vector<Field> partial(pairs.size(), Field(n, Vec3()));
    parallel(threads, [&](int t, int) { addDipolePairs(pairs[t], mu, partial[t]); });
    Field field = sumPartials(partial, threads);
    if (reciprocal) {
        std::vector<double> local;
        std::vector<double>& phi = potential == nullptr ? local : *potential;
        reciprocal->potential(nullptr, &mu, phi, gridParallel(threads));
        reciprocal->addDipoleDerivative(phi, -2.0, field, gridParallel(threads));
        const double self = 4.0 * beta * beta * beta / (3.0 * SQRT_PI);  // of the screening Gaussians
        for (int a = 0; a < n; a++) field[a] += mu[a] * self;
    }
    return field;
}

PolarizationCalculator::Field PolarizationCalculator::nearField(const Field& x, const std::vector<double>& root,
                                                                OpenMM::ThreadPool* threads) const {
    // B_near x = sqrt(a) T_near sqrt(a) x over the pairs closer than NEAR (no reciprocal part)
    const int n = static_cast<int>(x.size());
    Field scaled(n);
    for (int a = 0; a < n; a++) scaled[a] = x[a] * root[a];
    std::vector<Field> partial(near.size(), Field(n, Vec3()));
    parallel(threads, [&](int t, int) { addDipolePairs(near[t], scaled, partial[t]); });
    Field field = sumPartials(partial, threads);
    for (int a = 0; a < n; a++) field[a] *= root[a];
    return field;
}

bool PolarizationCalculator::conjugateGradients(const Field& rhs, const std::vector<double>& root, Field& nu,
                                                Field& residual, int& iterations, int limit,
                                                OpenMM::ThreadPool* threads) {
    // Solves (I - B) nu = rhs from the given nu, B = sqrt(a) T sqrt(a), preconditioned by
    // M^-1 = I + c B_near (c = preconditioning; 0: plain CG). Returns false on a polarization catastrophe.
    const int n = static_cast<int>(rhs.size());
    const double c = preconditioning;
    auto apply = [&](const Field& x) {
        Field scaled(n);
        for (int a = 0; a < n; a++) scaled[a] = x[a] * root[a];
        Field image = dipoleField(scaled, threads);
        for (int a = 0; a < n; a++) image[a] = x[a] - image[a] * root[a];
        return image;
    };
    auto precondition = [&](const Field& r) {
        if (c == 0.0) return r;
        Field z = nearField(r, root, threads);
        for (int a = 0; a < n; a++) z[a] = r[a] + z[a] * c;
        return z;
    };
    auto dot = [&](const Field& x, const Field& y) {
        double sum = 0;
        for (int a = 0; a < n; a++) sum += x[a].dot(y[a]);
        return sum;
    };
    residual = apply(nu);
    for (int a = 0; a < n; a++) residual[a] = rhs[a] - residual[a];
    Field z = precondition(residual), direction = z;
    double rho = dot(residual, z);
    for (;; iterations++) {
        if (largestResidual(residual, root) < settings.tolerance || iterations >= limit) return true;
        const Field image = apply(direction);
        const double curvature = dot(direction, image);
        if (curvature <= 0) return false;
        const double step = rho / curvature;
        for (int a = 0; a < n; a++) {
            nu[a] += direction[a] * step;
            residual[a] -= image[a] * step;
        }
        z = precondition(residual);
        const double next = dot(residual, z);
        if (next <= 0) return true;  // M^-1 is not positive definite here: the caller drops c
        for (int a = 0; a < n; a++) direction[a] = z[a] + direction[a] * (next / rho);
        rho = next;
    }
}

void PolarizationCalculator::solve(const Field& permanent, Field& mu, OpenMM::ThreadPool* threads) {
    // mu = sqrt(a) nu with (I - sqrt(a) T sqrt(a)) nu = sqrt(a) E. The preconditioner is a damped
    // first-order Neumann step over the near pairs; for some systems it is not positive definite and
    // the iterations stall: then its coefficient is halved (for good) and the solve goes on from where
    // it is, down to plain conjugate gradients.
    const int n = static_cast<int>(permanent.size());
    std::vector<double> root(n);
    for (int a = 0; a < n; a++) root[a] = std::sqrt(parameters.polarizability[a]);
    Field rhs(n), nu(n), residual;
    const bool guess = static_cast<int>(mu.size()) == n;
    for (int a = 0; a < n; a++) {
        rhs[a] = permanent[a] * root[a];
        nu[a] = guess ? (root[a] > 0 ? mu[a] / root[a] : Vec3()) : rhs[a];
    }
    int iterations = 0;
    bool catastrophe = false;
    for (;;) {
        const int limit = preconditioning > 0 ? std::min(settings.maxIterations, iterations + STALL) : settings.maxIterations;
        catastrophe = !conjugateGradients(rhs, root, nu, residual, iterations, limit, threads);
        if (catastrophe || largestResidual(residual, root) < settings.tolerance || preconditioning == 0 ||
            iterations >= settings.maxIterations)
            break;
        preconditioning = preconditioning < 0.05 ? 0.0 : 0.5 * preconditioning;
    }
    std::vector<std::pair<double, int>> residuals(n);
    for (int a = 0; a < n; a++) residuals[a] = {root[a] * std::sqrt(residual[a].dot(residual[a])), a};
    std::sort(residuals.rbegin(), residuals.rend());
    if (catastrophe || residuals[0].first >= settings.tolerance) {
        std::ostringstream message;
        message << "PolarizationForce: the induced dipoles did not converge ("
                << (catastrophe ? "the dipole equations are not positive definite: a polarization catastrophe"
                                : "largest residual " + std::to_string(residuals[0].first) + " e*nm after " +
                                      std::to_string(settings.maxIterations) + " iterations")
                << "); worst atoms:";
        for (int a = 0; a < std::min(n, 5); a++)
            message << " " << residuals[a].second << " (" << residuals[a].first << " e*nm)";
        message << ". Fix: raise setMutualInducedMaxIterations or loosen setMutualInducedTolerance (now "
                << settings.tolerance << " e*nm); if it persists, check those atoms' polarizabilities and damping "
                   "volumes (nm^3) and that no atoms overlap (minimize or start from a relaxed structure).";
        throw OpenMMException(message.str());
    }
    mu.assign(n, Vec3());
    for (int a = 0; a < n; a++) mu[a] = nu[a] * root[a];
}

double PolarizationCalculator::chargeChargeEnergy(OpenMM::ThreadPool* threads) {
    const auto& q = parameters.charge;
    std::vector<double> partial(pairs.size(), 0.0);
    parallel(threads, [&](int t, int) {
        for (size_t index = 0; index < pairs[t].size(); index++)
            partial[t] += q[pairs[t][index].i] * q[pairs[t][index].j] * slopes[t][index].a0;
    });
    double energy = 0;
    for (double e : partial) energy += e;
    if (reciprocal) {
        std::vector<double> phi;
        energy += reciprocal->potential(&q, nullptr, phi, gridParallel(threads));
        double total = 0, squares = 0;
        for (double c : q) {
            total += c;
            squares += c * c;
        }
        energy -= beta / SQRT_PI * squares + M_PI * total * total / (2.0 * volume * beta * beta);
    }
    return energy;
}

void PolarizationCalculator::addRealSpaceForces(const Field& mu, const std::vector<Coupling>& couplings,
                                                std::vector<Vec3>& forces, OpenMM::ThreadPool* threads) {
    // -dE/dx of the pair sums at fixed dipoles: the charges' interaction with ``mu``, each coupling's
    // -1/2 a.T.b and, when included, the charge-charge energy. v = x_j - x_i, so dE/dx_j = dE/dv = -dE/dx_i.
    const int n = static_cast<int>(mu.size());
    const auto& q = parameters.charge;
    const bool charges = settings.includeChargeCharge;
    std::vector<Field> partial(pairs.size(), Field(n, Vec3()));
    parallel(threads, [&](int t, int) {
        Field& f = partial[t];
        for (size_t index = 0; index < pairs[t].size(); index++) {
            const Pair& p = pairs[t][index];
            const Slopes& k = slopes[t][index];
            const Vec3 &mi = mu[p.i], &mj = mu[p.j];
            const double qi = q[p.i], qj = q[p.j];
            double radial = k.c3 * (qj * mi.dot(p.v) - qi * mj.dot(p.v));
            Vec3 grad = (mi * qj - mj * qi) * p.c3;
            for (const Coupling& c : couplings) {
                const Vec3 &ai = (*c.a)[p.i], &aj = (*c.a)[p.j], &bi = (*c.b)[p.i], &bj = (*c.b)[p.j];
                const double aiv = ai.dot(p.v), ajv = aj.dot(p.v), biv = bi.dot(p.v), bjv = bj.dot(p.v);
                radial += 0.5 * k.d3 * (ai.dot(bj) + bi.dot(aj)) - 1.5 * k.d5 * (aiv * bjv + biv * ajv);
                grad -= (ai * bjv + bj * aiv + bi * ajv + aj * biv) * (1.5 * p.d5);
            }
            if (charges) radial += qi * qj * k.a0Slope;
            grad += p.v * radial;
            f[p.i] += grad;
            f[p.j] -= grad;
        }
    });
    const Field sum = sumPartials(partial, threads);
    for (int a = 0; a < n; a++) forces[a] += sum[a] * ONE_4PI_EPS0;
}

void PolarizationCalculator::addForces(const Field& mu, std::vector<Vec3>& forces, OpenMM::ThreadPool* threads) {
    // the variational energy at converged dipoles: -mu.E - 1/2 mu.T.mu (+ charge-charge) at fixed mu
    addRealSpaceForces(mu, {{&mu, &mu}}, forces, threads);
    if (reciprocal) {
        // without the charge-charge energy, E(q, mu) - E(q, 0): the charges' own term is taken off
        const auto& q = parameters.charge;
        std::vector<double> phi;
        reciprocal->potential(&q, &mu, phi, gridParallel(threads));
        reciprocal->addPositionDerivative(phi, &q, &mu, -2.0 * ONE_4PI_EPS0, forces, gridParallel(threads));
        if (!settings.includeChargeCharge)
            reciprocal->addPositionDerivative(chargePotential, &q, nullptr, 2.0 * ONE_4PI_EPS0, forces,
                                              gridParallel(threads));
    }
}

double PolarizationCalculator::extrapolate(const Field& permanent, Field& mu, std::vector<Vec3>* forces,
                                           OpenMM::ThreadPool* threads) {
    // mu = sum_k c_k mu_k = sum_j b_j p_j with b_j = c_j + ... + c_n and p_j = (alpha T)^j alpha E.
    // E_pol = -1/2 mu.E, so dE_pol = -dE.mu - 1/2 sum_(m+k<order) b_(m+k+1) p_m.dT.p_k: the charges
    // feel mu, and each p_m couples to q_m = sum_k b_(m+k+1) p_k.
    const std::vector<double>& c = settings.extrapolation;
    const int order = static_cast<int>(c.size()) - 1, n = static_cast<int>(permanent.size());
    const auto& alpha = parameters.polarizability;
    std::vector<double> b(order + 2, 0.0);
    for (int j = order; j >= 0; j--) b[j] = b[j + 1] + c[j];
    std::vector<Field> p(order + 1, Field(n));
    std::vector<std::vector<double>> phi(order);  // reciprocal potentials of p_0 .. p_(order-1)
    for (int a = 0; a < n; a++) p[0][a] = permanent[a] * alpha[a];
    for (int m = 0; m < order; m++) {
        const Field field = dipoleField(p[m], threads, reciprocal ? &phi[m] : nullptr);
        for (int a = 0; a < n; a++) p[m + 1][a] = field[a] * alpha[a];
    }
    mu.assign(n, Vec3());
    for (int j = 0; j <= order; j++)
        for (int a = 0; a < n; a++) mu[a] += p[j][a] * b[j];
    double energy = 0;
    for (int a = 0; a < n; a++) energy -= 0.5 * mu[a].dot(permanent[a]);
    if (forces == nullptr) return energy;
    std::vector<Field> coupled(order, Field(n));  // q_m
    std::vector<Coupling> couplings;
    for (int m = 0; m < order; m++) {
        for (int k = 0; m + k + 1 <= order; k++)
            for (int a = 0; a < n; a++) coupled[m][a] += p[k][a] * b[m + k + 1];
        couplings.push_back({&p[m], &coupled[m]});
    }
    addRealSpaceForces(mu, couplings, *forces, threads);
    if (reciprocal) {
        const auto& q = parameters.charge;
        const double factor = -2.0 * ONE_4PI_EPS0;
        std::vector<double> field;  // the charges move in the potential of mu (and of each other)
        reciprocal->potential(nullptr, &mu, field, gridParallel(threads));
        if (settings.includeChargeCharge)
            for (size_t g = 0; g < field.size(); g++) field[g] += chargePotential[g];
        reciprocal->addPositionDerivative(field, &q, nullptr, factor, *forces, gridParallel(threads));
        reciprocal->addPositionDerivative(chargePotential, nullptr, &mu, factor, *forces, gridParallel(threads));
        for (int m = 0; m < order; m++) {
            std::vector<double> potential(phi[0].size(), 0.0);  // of q_m
            for (int k = 0; m + k + 1 <= order; k++)
                for (size_t g = 0; g < potential.size(); g++) potential[g] += phi[k][g] * b[m + k + 1];
            reciprocal->addPositionDerivative(potential, nullptr, &p[m], factor, *forces, gridParallel(threads));
        }
    }
    return energy;
}

double PolarizationCalculator::compute(const std::vector<Vec3>& positions, const Vec3* box,
                                       std::vector<Vec3>* forces, Field& dipoles, OpenMM::ThreadPool* threads,
                                       bool includeEnergy) {
    if (settings.periodic) {  // a barostat may shrink the box below what the cutoff allows
        const double width = std::min(box[0][0], std::min(box[1][1], box[2][2]));
        if (width < 2.0 * settings.cutoff)
            throw OpenMMException("PolarizationForce: the periodic box has shrunk to " + std::to_string(width) +
                                  " nm, less than twice the cutoff (" + std::to_string(settings.cutoff) + " nm)");
    }
    buildPairs(positions, box, threads);
    if (reciprocal) {
        volume = box[0].dot(box[1].cross(box[2]));
        reciprocal->setup(positions, box, gridParallel(threads));
    }
    const Field permanent = permanentField(threads);
    if (!settings.extrapolation.empty()) {
        double energy = extrapolate(permanent, dipoles, forces, threads);
        if (includeEnergy && settings.includeChargeCharge) energy += chargeChargeEnergy(threads);
        return includeEnergy ? ONE_4PI_EPS0 * energy : 0.0;
    }
    solve(permanent, dipoles, threads);
    if (forces != nullptr) addForces(dipoles, *forces, threads);
    if (!includeEnergy) return 0.0;
    // variational polarization energy: sum |mu|^2 / 2 alpha - mu.E - 1/2 mu.T.mu
    const Field coupled = dipoleField(dipoles, threads);
    double energy = 0;
    for (size_t a = 0; a < dipoles.size(); a++) {
        const double alpha = parameters.polarizability[a];
        if (alpha > 0) energy += dipoles[a].dot(dipoles[a]) / (2.0 * alpha);
        energy -= dipoles[a].dot(permanent[a]) + 0.5 * dipoles[a].dot(coupled[a]);
    }
    if (settings.includeChargeCharge) energy += chargeChargeEnergy(threads);
    return ONE_4PI_EPS0 * energy;
}

}  // namespace elyte

// Device kernels of PolarizationForce on OpenMM's compute platforms (CUDA, OpenCL), in OpenMM's
// common kernel dialect (KERNEL, GLOBAL, real, ...): the real-space pair sums and the solver.
// Vectors are stored as three reals per atom in the System's atom order (the context's sorted order
// is gathered at the start and forces are scattered back). Compile-time constants: THOLE_A, BETA
// (Ewald screening, 1/nm; 0 for NoCutoff), GAUSS_PREFACTOR = 2 BETA / sqrt(pi), PERIODIC and
// CUTOFF_SQUARED (nm^2), ONE_4PI_EPS0, REDUCE_SIZE. The pair kernels are those of PolarizationCalculator.h: for a pair at distance r
// with scales (cs, fs, ds), Thole decays t3 = exp(-a u^3), t5 = (1 + a u^3) exp(-a u^3) and the
// erfc-screened B0..B3,
//   a0 = B0 - (1 - cs)/r, c3 = B1 - ((1 - fs) + fs t3)/r^3, d3 = B1 - ((1 - ds) + ds t3)/r^3,
//   d5 = B2/3 - ((1 - ds) + ds t5)/r^5,
// written with the removed fractions (1 - s) + s t so that neither precision loses them, and their
// slopes d/dr divided by r. Box: rows a, b, c of the reduced triclinic box (nm), 9 reals.

typedef struct {
    real a0, a0Slope, c3, c3Slope, d3, d3Slope, d5, d5Slope;
} PairKernels;

DEVICE PairKernels pairKernels(real r, real rootDampingProduct, real cs, real fs, real ds) {
    const real invR = 1 / r, invR2 = invR * invR, invR3 = invR2 * invR, invR5 = invR3 * invR2;
    real complement = 1, gauss = 0;
#ifdef PERIODIC
    complement = erfc(BETA * r);
    gauss = GAUSS_PREFACTOR * exp(-BETA * BETA * r * r);
#endif
    const real b0 = complement * invR, b1 = (b0 + gauss) * invR2;
    const real b2 = (3 * b1 + 2 * BETA * BETA * gauss) * invR2;
    const real b3 = (5 * b2 + 4 * BETA * BETA * BETA * BETA * gauss) * invR2;
    real t3 = 0, t5 = 0, dl3 = 0, dl5 = 0;  // Thole decays and d(1 - t)/dr divided by r
    if (rootDampingProduct > 0 && THOLE_A * r * r * r < 50 * rootDampingProduct) {
        const real au3 = THOLE_A * r * r * r / rootDampingProduct, decay = exp(-au3);
        t3 = decay;
        t5 = (1 + au3) * decay;
        dl3 = 3 * au3 * invR2 * decay;
        dl5 = au3 * dl3;
    }
    const real removedC3 = (1 - fs) + fs * t3, removedD3 = (1 - ds) + ds * t3, removedD5 = (1 - ds) + ds * t5;
    PairKernels k;
    k.a0 = b0 - (1 - cs) * invR;
    k.a0Slope = -b1 + (1 - cs) * invR3;
    k.c3 = b1 - removedC3 * invR3;
    k.d3 = b1 - removedD3 * invR3;
    k.d5 = b2 / 3 - removedD5 * invR5;
    k.c3Slope = -b2 + (fs * dl3 + 3 * removedC3 * invR2) * invR3;
    k.d3Slope = -b2 + (ds * dl3 + 3 * removedD3 * invR2) * invR3;
    k.d5Slope = -b3 / 3 + (ds * dl5 + 5 * removedD5 * invR2) * invR5;
    return k;
}

// The scales of pair (a, b) from a's sorted row of exceptions, advanced as b grows; 1 if listed.
DEVICE int pairScales(int b, int* next, int rowEnd, GLOBAL const int* RESTRICT partner,
                      GLOBAL const real* RESTRICT scales, real* cs, real* fs, real* ds) {
    *cs = 1;
    *fs = 1;
    *ds = 1;
    while (*next < rowEnd && partner[*next] < b) (*next)++;
    if (*next < rowEnd && partner[*next] == b) {
        *cs = scales[3 * *next];
        *fs = scales[3 * *next + 1];
        *ds = scales[3 * *next + 2];
        return 1;
    }
    return 0;
}

DEVICE void minimumImage(real* x, real* y, real* z, GLOBAL const real* RESTRICT box) {
    real shift = round(*z / box[8]);
    *x -= shift * box[6];
    *y -= shift * box[7];
    *z -= shift * box[8];
    shift = round(*y / box[4]);
    *x -= shift * box[3];
    *y -= shift * box[4];
    *x -= round(*x / box[0]) * box[0];
}

// The pair (a, b): its displacement v = x_b - x_a (nm, nearest image) and its kernels, scales from
// a's exception row. Returns 0 for a pair beyond the cutoff that has no exception (no interaction).
DEVICE int pairBetween(int a, int b, GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT rootDamping,
                       int* next, int rowEnd, GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT scales,
                       GLOBAL const real* RESTRICT box, real* x, real* y, real* z, PairKernels* k) {
    real cs, fs, ds;
    const int listed = pairScales(b, next, rowEnd, partner, scales, &cs, &fs, &ds);
    *x = pos[3 * b] - pos[3 * a];
    *y = pos[3 * b + 1] - pos[3 * a + 1];
    *z = pos[3 * b + 2] - pos[3 * a + 2];
#ifdef PERIODIC
    minimumImage(x, y, z, box);
#endif
    const real r2 = *x * *x + *y * *y + *z * *z;
#ifdef PERIODIC
    if (!listed && r2 > CUTOFF_SQUARED) return 0;
#endif
    *k = pairKernels(sqrt(r2), rootDamping[a] * rootDamping[b], cs, fs, ds);
    return 1;
}

KERNEL void gatherPositions(GLOBAL const real4* RESTRICT posq, GLOBAL const int* RESTRICT atomIndex,
                            GLOBAL real* RESTRICT pos, int numAtoms) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int a = atomIndex[i];
        pos[3 * a] = posq[i].x;
        pos[3 * a + 1] = posq[i].y;
        pos[3 * a + 2] = posq[i].z;
    }
}

// The pair loops run over each atom's neighbour list (capacity > 0: up to ``capacity`` partners of atom
// a at neighbors[a * capacity ...], in increasing order) or over all atoms (capacity 0).

// Each atom's partners within ``listCutoff`` (nm, nearest image) or with an exception, in increasing
// order; the count may exceed the capacity (then the list is rebuilt larger). Stores the positions.
KERNEL void buildNeighbors(GLOBAL const real* RESTRICT pos, GLOBAL const int* RESTRICT rowStart,
                           GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT box,
                           GLOBAL int* RESTRICT neighbors, GLOBAL int* RESTRICT neighborCount,
                           GLOBAL real* RESTRICT listPositions, int numAtoms, int capacity, real listCutoffSquared) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        int count = 0, next = rowStart[a];
        const int rowEnd = rowStart[a + 1];
        for (int b = 0; b < numAtoms; b++) {
            if (b == a) continue;
            while (next < rowEnd && partner[next] < b) next++;
            real x = pos[3 * b] - pos[3 * a], y = pos[3 * b + 1] - pos[3 * a + 1], z = pos[3 * b + 2] - pos[3 * a + 2];
            minimumImage(&x, &y, &z, box);
            if (x * x + y * y + z * z < listCutoffSquared || (next < rowEnd && partner[next] == b)) {
                if (count < capacity) neighbors[a * capacity + count] = b;
                count++;
            }
        }
        neighborCount[a] = count;
        for (int d = 0; d < 3; d++) listPositions[3 * a + d] = pos[3 * a + d];
    }
}

// out[0] = the largest squared displacement of an atom since the list was built (nm^2). One work group.
KERNEL void largestMove(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT listPositions,
                        GLOBAL mixed* RESTRICT out, int numAtoms) {
    LOCAL mixed largest[REDUCE_SIZE];
    mixed worst = 0;
    for (int a = LOCAL_ID; a < numAtoms; a += LOCAL_SIZE) {
        const mixed x = pos[3 * a] - listPositions[3 * a], y = pos[3 * a + 1] - listPositions[3 * a + 1],
                    z = pos[3 * a + 2] - listPositions[3 * a + 2];
        const mixed moved = x * x + y * y + z * z;
        worst = moved > worst ? moved : worst;
    }
    largest[LOCAL_ID] = worst;
    SYNC_THREADS;
    for (int step = LOCAL_SIZE / 2; step > 0; step /= 2) {
        if (LOCAL_ID < step) largest[LOCAL_ID] = largest[LOCAL_ID + step] > largest[LOCAL_ID] ? largest[LOCAL_ID + step] : largest[LOCAL_ID];
        SYNC_THREADS;
    }
    if (LOCAL_ID == 0) out[0] = largest[0];
}

// The real-space permanent field of the charges at each atom (e/nm^2, without 1/(4 pi eps0)).
KERNEL void permanentField(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT charge,
                           GLOBAL const real* RESTRICT rootDamping, GLOBAL const int* RESTRICT rowStart,
                           GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT scales,
                           GLOBAL const real* RESTRICT box, GLOBAL real* RESTRICT field, int numAtoms,
                           GLOBAL const int* RESTRICT neighbors, GLOBAL const int* RESTRICT neighborCount,
                           int capacity) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        real ex = 0, ey = 0, ez = 0;
        int next = rowStart[a];
        const int rowEnd = rowStart[a + 1];
        const int count = capacity > 0 ? neighborCount[a] : numAtoms;
        for (int n = 0; n < count; n++) {
            const int b = capacity > 0 ? neighbors[a * capacity + n] : n;
            real x, y, z;
            PairKernels k;
            if (b == a || !pairBetween(a, b, pos, rootDamping, &next, rowEnd, partner, scales, box, &x, &y, &z, &k))
                continue;
            const real s = charge[b] * k.c3;
            ex -= x * s;
            ey -= y * s;
            ez -= z * s;
        }
        field[3 * a] = ex;
        field[3 * a + 1] = ey;
        field[3 * a + 2] = ez;
    }
}

// The solver's operator on nu = mu / sqrt(alpha), real space and self term:
// image = nu - sqrt(alpha) (T_real (sqrt(alpha) nu) + selfField sqrt(alpha) nu); the reciprocal part
// is added by addDipoleGradient.
KERNEL void applyOperator(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT rootAlpha,
                          GLOBAL const real* RESTRICT rootDamping, GLOBAL const int* RESTRICT rowStart,
                          GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT scales,
                          GLOBAL const real* RESTRICT box, GLOBAL const real* RESTRICT nu, GLOBAL real* RESTRICT image,
                          int numAtoms, real selfField, GLOBAL const int* RESTRICT neighbors,
                          GLOBAL const int* RESTRICT neighborCount, int capacity) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        const real rootA = rootAlpha[a];
        real fx = selfField * rootA * nu[3 * a], fy = selfField * rootA * nu[3 * a + 1], fz = selfField * rootA * nu[3 * a + 2];
        if (rootA > 0) {
            int next = rowStart[a];
            const int rowEnd = rowStart[a + 1];
            const int count = capacity > 0 ? neighborCount[a] : numAtoms;
            for (int n = 0; n < count; n++) {
                const int b = capacity > 0 ? neighbors[a * capacity + n] : n;
                real x, y, z;
                PairKernels k;
                if (b == a || rootAlpha[b] == 0 ||
                    !pairBetween(a, b, pos, rootDamping, &next, rowEnd, partner, scales, box, &x, &y, &z, &k))
                    continue;
                const real mx = rootAlpha[b] * nu[3 * b], my = rootAlpha[b] * nu[3 * b + 1], mz = rootAlpha[b] * nu[3 * b + 2];
                const real u = 3 * k.d5 * (mx * x + my * y + mz * z);
                fx += x * u - mx * k.d3;
                fy += y * u - my * k.d3;
                fz += z * u - mz * k.d3;
            }
        }
        image[3 * a] = nu[3 * a] - rootA * fx;
        image[3 * a + 1] = nu[3 * a + 1] - rootA * fy;
        image[3 * a + 2] = nu[3 * a + 2] - rootA * fz;
    }
}

// out[0] = sum x.y over all atoms; out[1] = the largest sqrt(alpha_a) |x_a|. One work group.
KERNEL void reduceVectors(GLOBAL const real* RESTRICT x, GLOBAL const real* RESTRICT y,
                          GLOBAL const real* RESTRICT rootAlpha, GLOBAL mixed* RESTRICT out, int numAtoms) {
    LOCAL mixed sums[REDUCE_SIZE];
    LOCAL mixed largest[REDUCE_SIZE];
    mixed sum = 0, worst = 0;
    for (int a = LOCAL_ID; a < numAtoms; a += LOCAL_SIZE) {
        const mixed x0 = x[3 * a], x1 = x[3 * a + 1], x2 = x[3 * a + 2];
        sum += x0 * y[3 * a] + x1 * y[3 * a + 1] + x2 * y[3 * a + 2];
        const mixed size = rootAlpha[a] * sqrt(x0 * x0 + x1 * x1 + x2 * x2);
        worst = (size > worst || isnan(size)) ? size : worst;  // a NaN wins: the solver must see it
    }
    sums[LOCAL_ID] = sum;
    largest[LOCAL_ID] = worst;
    SYNC_THREADS;
    for (int step = LOCAL_SIZE / 2; step > 0; step /= 2) {
        if (LOCAL_ID < step) {
            sums[LOCAL_ID] += sums[LOCAL_ID + step];
            const mixed other = largest[LOCAL_ID + step];
            if (other > largest[LOCAL_ID] || isnan(other)) largest[LOCAL_ID] = other;
        }
        SYNC_THREADS;
    }
    if (LOCAL_ID == 0) {
        out[0] = sums[0];
        out[1] = largest[0];
    }
}

// y = x * scale + y * weight, component by component (3 per atom).
KERNEL void combineVectors(GLOBAL const real* RESTRICT x, GLOBAL real* RESTRICT y, real scale, real weight, int count) {
    for (int c = GLOBAL_ID; c < count; c += GLOBAL_SIZE) y[c] = x[c] * scale + y[c] * weight;
}

// out[offset + c] = x[c] for the count components of x.
KERNEL void storeVector(GLOBAL const real* RESTRICT x, GLOBAL real* RESTRICT out, int offset, int count) {
    for (int c = GLOBAL_ID; c < count; c += GLOBAL_SIZE) out[offset + c] = x[c];
}

// Start of the solve: nu from the guess mu (or sqrt(alpha) E without one), rhs = sqrt(alpha) E.
KERNEL void startSolve(GLOBAL const real* RESTRICT field, GLOBAL const real* RESTRICT rootAlpha,
                       GLOBAL const real* RESTRICT mu, GLOBAL real* RESTRICT nu, GLOBAL real* RESTRICT rhs,
                       int numAtoms, int haveGuess) {
    for (int c = GLOBAL_ID; c < 3 * numAtoms; c += GLOBAL_SIZE) {
        const real root = rootAlpha[c / 3];
        rhs[c] = root * field[c];
        nu[c] = haveGuess ? (root > 0 ? mu[c] / root : 0) : rhs[c];
    }
}

KERNEL void finishSolve(GLOBAL const real* RESTRICT nu, GLOBAL const real* RESTRICT rootAlpha,
                        GLOBAL real* RESTRICT mu, int numAtoms) {
    for (int c = GLOBAL_ID; c < 3 * numAtoms; c += GLOBAL_SIZE) mu[c] = nu[c] * rootAlpha[c / 3];
}

// Real-space -dE/dx at fixed dipoles (kJ/mol/nm) added to the context's fixed-point forces, and each
// atom's share of the energy without 1/(4 pi eps0): half its real-space charge-charge pairs (when
// included) plus, with ``variational``, |mu|^2 / 2 alpha - mu.E - 1/2 mu.(T mu) = nu.image / 2 - mu.E
// (``image``: the solver's whole operator applied to nu = mu / sqrt(alpha); a non-polarizable atom has
// mu = 0), else -mu.E / 2 (extrapolated). The charges feel mu; each coupling (a_c, b_c), stored one
// after the other in ``couplingA`` and ``couplingB``, adds the forces of -1/2 a_c.T.b_c (symmetrized):
// (mu, mu) for converged dipoles, (p_m, q_m) for extrapolated ones (see PolarizationForce.h).
KERNEL void forcesAndEnergy(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT charge,
                            GLOBAL const real* RESTRICT rootAlpha, GLOBAL const real* RESTRICT rootDamping,
                            GLOBAL const int* RESTRICT rowStart, GLOBAL const int* RESTRICT partner,
                            GLOBAL const real* RESTRICT scales, GLOBAL const real* RESTRICT box,
                            GLOBAL const real* RESTRICT mu, GLOBAL const real* RESTRICT field,
                            GLOBAL const real* RESTRICT nu, GLOBAL const real* RESTRICT image,
                            GLOBAL const int* RESTRICT atomIndex, GLOBAL mm_long* RESTRICT forceBuffer,
                            GLOBAL mixed* RESTRICT energy, int numAtoms, int paddedNumAtoms,
                            int includeChargeCharge, int includeForces, GLOBAL const int* RESTRICT neighbors,
                            GLOBAL const int* RESTRICT neighborCount, int capacity,
                            GLOBAL const real* RESTRICT couplingA, GLOBAL const real* RESTRICT couplingB,
                            int numCouplings, int variational) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int a = atomIndex[i];
        const real qi = charge[a], mix = mu[3 * a], miy = mu[3 * a + 1], miz = mu[3 * a + 2];
        real gx = 0, gy = 0, gz = 0;
        mixed pairEnergy = 0;
        int next = rowStart[a];
        const int rowEnd = rowStart[a + 1];
        const int count = capacity > 0 ? neighborCount[a] : numAtoms;
        for (int n = 0; n < count; n++) {
            const int b = capacity > 0 ? neighbors[a * capacity + n] : n;
            real x, y, z;
            PairKernels k;
            if (b == a || !pairBetween(a, b, pos, rootDamping, &next, rowEnd, partner, scales, box, &x, &y, &z, &k))
                continue;
            const real qj = charge[b], mjx = mu[3 * b], mjy = mu[3 * b + 1], mjz = mu[3 * b + 2];
            real radial = k.c3Slope * (qj * (mix * x + miy * y + miz * z) - qi * (mjx * x + mjy * y + mjz * z));
            gx += k.c3 * (qj * mix - qi * mjx);
            gy += k.c3 * (qj * miy - qi * mjy);
            gz += k.c3 * (qj * miz - qi * mjz);
            for (int c = 0; c < numCouplings; c++) {
                GLOBAL const real* A = couplingA + 3 * numAtoms * c;
                GLOBAL const real* B = couplingB + 3 * numAtoms * c;
                const real aix = A[3 * a], aiy = A[3 * a + 1], aiz = A[3 * a + 2];
                const real ajx = A[3 * b], ajy = A[3 * b + 1], ajz = A[3 * b + 2];
                const real bix = B[3 * a], biy = B[3 * a + 1], biz = B[3 * a + 2];
                const real bjx = B[3 * b], bjy = B[3 * b + 1], bjz = B[3 * b + 2];
                const real aiv = aix * x + aiy * y + aiz * z, ajv = ajx * x + ajy * y + ajz * z;
                const real biv = bix * x + biy * y + biz * z, bjv = bjx * x + bjy * y + bjz * z;
                radial += k.d3Slope * (aix * bjx + aiy * bjy + aiz * bjz + bix * ajx + biy * ajy + biz * ajz) / 2 -
                          3 * k.d5Slope * (aiv * bjv + biv * ajv) / 2;
                const real d5 = 3 * k.d5 / 2;
                gx -= d5 * (aix * bjv + bjx * aiv + bix * ajv + ajx * biv);
                gy -= d5 * (aiy * bjv + bjy * aiv + biy * ajv + ajy * biv);
                gz -= d5 * (aiz * bjv + bjz * aiv + biz * ajv + ajz * biv);
            }
            if (includeChargeCharge) {
                radial += qi * qj * k.a0Slope;
                pairEnergy += qi * qj * k.a0 / 2;
            }
            gx += x * radial;
            gy += y * radial;
            gz += z * radial;
        }
        if (includeForces) {
            forceBuffer[i] += (mm_long) (gx * ONE_4PI_EPS0 * 0x100000000);
            forceBuffer[i + paddedNumAtoms] += (mm_long) (gy * ONE_4PI_EPS0 * 0x100000000);
            forceBuffer[i + 2 * paddedNumAtoms] += (mm_long) (gz * ONE_4PI_EPS0 * 0x100000000);
        }
        const mixed muE = mix * field[3 * a] + miy * field[3 * a + 1] + miz * field[3 * a + 2];
        mixed own = variational ? -muE : -muE / 2;
        if (variational && rootAlpha[a] > 0)
            own += (nu[3 * a] * image[3 * a] + nu[3 * a + 1] * image[3 * a + 1] + nu[3 * a + 2] * image[3 * a + 2]) / 2;
        energy[a] = pairEnergy + own;
    }
}

// Extrapolated polarization: from the perturbation orders nu_j = p_j / sqrt(alpha) (``orders``, one
// after the other), p_j = sqrt(alpha) nu_j into ``p``, mu = sum_j b_j p_j and the couplings
// q_m = sum_(k <= order - m - 1) b_(m+k+1) p_k into ``q``; ``b``: the partial sums of the coefficients.
KERNEL void extrapolateDipoles(GLOBAL const real* RESTRICT orders, GLOBAL const real* RESTRICT rootAlpha,
                               GLOBAL const real* RESTRICT b, GLOBAL real* RESTRICT p, GLOBAL real* RESTRICT mu,
                               GLOBAL real* RESTRICT q, int numAtoms, int order) {
    const int n = 3 * numAtoms;
    for (int c = GLOBAL_ID; c < n; c += GLOBAL_SIZE) {
        const real root = rootAlpha[c / 3];
        real sum = 0;
        for (int j = 0; j <= order; j++) {
            p[j * n + c] = root * orders[j * n + c];
            sum += b[j] * p[j * n + c];
        }
        mu[c] = sum;
        for (int m = 0; m < order; m++) {
            real coupled = 0;
            for (int k = 0; m + k + 1 <= order; k++) coupled += b[m + k + 1] * p[k * n + c];
            q[m * n + c] = coupled;
        }
    }
}

// out[0] = the sum of x[0..n). One work group.
KERNEL void sumArray(GLOBAL const mixed* RESTRICT x, GLOBAL mixed* RESTRICT out, int n) {
    LOCAL mixed sums[REDUCE_SIZE];
    mixed sum = 0;
    for (int g = LOCAL_ID; g < n; g += LOCAL_SIZE) sum += x[g];
    sums[LOCAL_ID] = sum;
    SYNC_THREADS;
    for (int step = LOCAL_SIZE / 2; step > 0; step /= 2) {
        if (LOCAL_ID < step) sums[LOCAL_ID] += sums[LOCAL_ID + step];
        SYNC_THREADS;
    }
    if (LOCAL_ID == 0) out[0] = sums[0];
}

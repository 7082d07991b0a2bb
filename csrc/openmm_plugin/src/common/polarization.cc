// Device kernels of PolarizationForce on OpenMM's compute platforms (CUDA, OpenCL), in OpenMM's
// common kernel dialect (KERNEL, GLOBAL, real, ...). Vectors are stored as three reals per atom, in
// the System's atom order (the context's sorted order is gathered and scattered at the ends).
// The pair kernels are those of PolarizationCalculator.h with beta = 0 (NoCutoff): for a pair at
// distance r with scales (cs, fs, ds) and Thole functions l3, l5:
//   a0 = cs/r, c3 = fs l3/r^3, d3 = ds l3/r^3, d5 = ds l5/r^5, and their slopes d/dr divided by r.

typedef struct {
    real a0, a0Slope, c3, c3Slope, d3, d3Slope, d5, d5Slope;
} PairKernels;

DEVICE PairKernels pairKernels(real r, real rootDampingProduct, real tholeA, real cs, real fs, real ds) {
    const real invR = 1 / r, invR2 = invR * invR, invR3 = invR2 * invR, invR5 = invR3 * invR2;
    real l3 = 1, l5 = 1, dl3 = 0, dl5 = 0;  // dl: d/dr divided by r
    if (rootDampingProduct > 0 && tholeA * r * r * r < 50 * rootDampingProduct) {
        const real au3 = tholeA * r * r * r / rootDampingProduct, decay = exp(-au3);
        l3 = 1 - decay;
        l5 = 1 - (1 + au3) * decay;
        dl3 = 3 * au3 * invR2 * decay;
        dl5 = au3 * dl3;
    }
    PairKernels k;
    k.a0 = cs * invR;
    k.a0Slope = -cs * invR3;
    k.c3 = fs * l3 * invR3;
    k.d3 = ds * l3 * invR3;
    k.d5 = ds * l5 * invR5;
    k.c3Slope = (fs * dl3 - 3 * fs * l3 * invR2) * invR3;
    k.d3Slope = (ds * dl3 - 3 * ds * l3 * invR2) * invR3;
    k.d5Slope = (ds * dl5 - 5 * ds * l5 * invR2) * invR5;
    return k;
}

// The scales of pair (a, b) from a's sorted row of exceptions, advanced as b grows.
DEVICE void pairScales(int b, int* next, int rowEnd, GLOBAL const int* RESTRICT partner,
                       GLOBAL const real* RESTRICT scales, real* cs, real* fs, real* ds) {
    *cs = 1;
    *fs = 1;
    *ds = 1;
    while (*next < rowEnd && partner[*next] < b) (*next)++;
    if (*next < rowEnd && partner[*next] == b) {
        *cs = scales[3 * *next];
        *fs = scales[3 * *next + 1];
        *ds = scales[3 * *next + 2];
    }
}

// The pair (a, b): its displacement v = x_b - x_a (nm) and its kernels, scales from a's exception row.
DEVICE PairKernels pairBetween(int a, int b, GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT rootDamping,
                               real tholeA, int* next, int rowEnd, GLOBAL const int* RESTRICT partner,
                               GLOBAL const real* RESTRICT scales, real* x, real* y, real* z) {
    real cs, fs, ds;
    pairScales(b, next, rowEnd, partner, scales, &cs, &fs, &ds);
    *x = pos[3 * b] - pos[3 * a];
    *y = pos[3 * b + 1] - pos[3 * a + 1];
    *z = pos[3 * b + 2] - pos[3 * a + 2];
    const real r = sqrt(*x * *x + *y * *y + *z * *z);
    return pairKernels(r, rootDamping[a] * rootDamping[b], tholeA, cs, fs, ds);
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

// The permanent field of the charges at each atom (e/nm^2, without 1/(4 pi eps0)).
KERNEL void permanentField(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT charge,
                           GLOBAL const real* RESTRICT rootDamping, GLOBAL const int* RESTRICT rowStart,
                           GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT scales,
                           GLOBAL real* RESTRICT field, int numAtoms, real tholeA) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        real ex = 0, ey = 0, ez = 0;
        int next = rowStart[a];
        const int rowEnd = rowStart[a + 1];
        for (int b = 0; b < numAtoms; b++) {
            if (b == a) continue;
            real x, y, z;
            const PairKernels k = pairBetween(a, b, pos, rootDamping, tholeA, &next, rowEnd, partner, scales, &x, &y, &z);
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

// The solver's operator on nu = mu / sqrt(alpha): image = nu - sqrt(alpha) T (sqrt(alpha) nu).
KERNEL void applyOperator(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT rootAlpha,
                          GLOBAL const real* RESTRICT rootDamping, GLOBAL const int* RESTRICT rowStart,
                          GLOBAL const int* RESTRICT partner, GLOBAL const real* RESTRICT scales,
                          GLOBAL const real* RESTRICT nu, GLOBAL real* RESTRICT image, int numAtoms, real tholeA) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        real fx = 0, fy = 0, fz = 0;
        if (rootAlpha[a] > 0) {
            int next = rowStart[a];
            const int rowEnd = rowStart[a + 1];
            for (int b = 0; b < numAtoms; b++) {
                if (b == a || rootAlpha[b] == 0) continue;
                real x, y, z;
                const PairKernels k =
                    pairBetween(a, b, pos, rootDamping, tholeA, &next, rowEnd, partner, scales, &x, &y, &z);
                const real mx = rootAlpha[b] * nu[3 * b], my = rootAlpha[b] * nu[3 * b + 1], mz = rootAlpha[b] * nu[3 * b + 2];
                const real u = 3 * k.d5 * (mx * x + my * y + mz * z);
                fx += x * u - mx * k.d3;
                fy += y * u - my * k.d3;
                fz += z * u - mz * k.d3;
            }
        }
        image[3 * a] = nu[3 * a] - rootAlpha[a] * fx;
        image[3 * a + 1] = nu[3 * a + 1] - rootAlpha[a] * fy;
        image[3 * a + 2] = nu[3 * a + 2] - rootAlpha[a] * fz;
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
        worst = size > worst ? size : worst;
    }
    sums[LOCAL_ID] = sum;
    largest[LOCAL_ID] = worst;
    SYNC_THREADS;
    for (int step = LOCAL_SIZE / 2; step > 0; step /= 2) {
        if (LOCAL_ID < step) {
            sums[LOCAL_ID] += sums[LOCAL_ID + step];
            largest[LOCAL_ID] = largest[LOCAL_ID + step] > largest[LOCAL_ID] ? largest[LOCAL_ID + step] : largest[LOCAL_ID];
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

// -dE/dx at fixed dipoles (kJ/mol/nm) added to the context's fixed-point forces, and each atom's
// share of the energy without 1/(4 pi eps0): half its charge-charge pairs (when included) plus
// |mu|^2 / 2 alpha - mu.E - 1/2 mu.(T mu) = nu.image / 2 - mu.E, with ``image`` the solver's operator
// applied to nu = mu / sqrt(alpha) (zero for a non-polarizable atom, whose mu is zero).
KERNEL void forcesAndEnergy(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT charge,
                            GLOBAL const real* RESTRICT rootAlpha, GLOBAL const real* RESTRICT rootDamping,
                            GLOBAL const int* RESTRICT rowStart, GLOBAL const int* RESTRICT partner,
                            GLOBAL const real* RESTRICT scales, GLOBAL const real* RESTRICT mu,
                            GLOBAL const real* RESTRICT field, GLOBAL const real* RESTRICT nu,
                            GLOBAL const real* RESTRICT image,
                            GLOBAL const int* RESTRICT atomIndex, GLOBAL mm_long* RESTRICT forceBuffer,
                            GLOBAL mixed* RESTRICT energy, int numAtoms, int paddedNumAtoms, real tholeA,
                            int includeChargeCharge, int includeForces) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int a = atomIndex[i];
        const real qi = charge[a], mix = mu[3 * a], miy = mu[3 * a + 1], miz = mu[3 * a + 2];
        real gx = 0, gy = 0, gz = 0;
        mixed pairEnergy = 0;
        int next = rowStart[a];
        const int rowEnd = rowStart[a + 1];
        for (int b = 0; b < numAtoms; b++) {
            if (b == a) continue;
            real x, y, z;
            const PairKernels k = pairBetween(a, b, pos, rootDamping, tholeA, &next, rowEnd, partner, scales, &x, &y, &z);
            const real qj = charge[b], mjx = mu[3 * b], mjy = mu[3 * b + 1], mjz = mu[3 * b + 2];
            const real miv = mix * x + miy * y + miz * z, mjv = mjx * x + mjy * y + mjz * z;
            real radial = k.c3Slope * (qj * miv - qi * mjv) + k.d3Slope * (mix * mjx + miy * mjy + miz * mjz) -
                          3 * k.d5Slope * miv * mjv;
            if (includeChargeCharge) {
                radial += qi * qj * k.a0Slope;
                pairEnergy += qi * qj * k.a0 / 2;
            }
            gx += k.c3 * (qj * mix - qi * mjx) - 3 * k.d5 * (mix * mjv + mjx * miv) + x * radial;
            gy += k.c3 * (qj * miy - qi * mjy) - 3 * k.d5 * (miy * mjv + mjy * miv) + y * radial;
            gz += k.c3 * (qj * miz - qi * mjz) - 3 * k.d5 * (miz * mjv + mjz * miv) + z * radial;
        }
        if (includeForces) {
            forceBuffer[i] += (mm_long) (gx * ONE_4PI_EPS0 * 0x100000000);
            forceBuffer[i + paddedNumAtoms] += (mm_long) (gy * ONE_4PI_EPS0 * 0x100000000);
            forceBuffer[i + 2 * paddedNumAtoms] += (mm_long) (gz * ONE_4PI_EPS0 * 0x100000000);
        }
        mixed own = -(mix * field[3 * a] + miy * field[3 * a + 1] + miz * field[3 * a + 2]);
        if (rootAlpha[a] > 0) own += (nu[3 * a] * image[3 * a] + nu[3 * a + 1] * image[3 * a + 1] + nu[3 * a + 2] * image[3 * a + 2]) / 2;
        energy[a] = pairEnergy + own;
    }
}

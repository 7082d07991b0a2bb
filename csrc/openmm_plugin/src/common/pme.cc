// Smooth PME of point charges and point dipoles on the compute platforms, the device side of
// DipolePme (order-5 B-splines; see DipolePme.h): spread Q(g) = sum_j (q_j + mu_j.grad_j) W(u_j - g)
// on the grid (fixed point with 2^40 steps per e: the grid sums stay below 1e6 e, and energy differences
// of 1e-10 remain visible; atomic adds), transform, multiply by the influence function, transform
// back to the grid potential phi; E = sum_k influence |S(k)|^2 over the whole spectrum (e^2/nm).
// Constants: GRID_X, GRID_Y, GRID_Z, PME_ORDER. ``recip``: rows of the inverse-transpose box
// (9 reals), the fractional coordinate f_d = recip[d] . x.

#define HALF_Z (GRID_Z / 2 + 1)
#define GRID_SCALE ((mixed) 0x10000000000)

// Cardinal B-spline values M_p(w + k), k = 0..p-1, and first and second derivatives, p = PME_ORDER.
DEVICE void bsplines(real w, real* value, real* first, real* second) {
    real m[PME_ORDER + 1][PME_ORDER + 1];
    for (int p = 0; p <= PME_ORDER; p++)
        for (int k = 0; k <= PME_ORDER; k++) m[p][k] = 0;
    m[1][0] = 1;
    for (int p = 2; p <= PME_ORDER; p++)
        for (int k = 0; k < p; k++) {
            const real here = k < p - 1 ? m[p - 1][k] : 0, left = k > 0 ? m[p - 1][k - 1] : 0;
            m[p][k] = ((w + k) * here + (p - w - k) * left) / (p - 1);
        }
    const int n = PME_ORDER;
    for (int k = 0; k < n; k++) {
        value[k] = m[n][k];
        first[k] = (k < n - 1 ? m[n - 1][k] : 0) - (k >= 1 ? m[n - 1][k - 1] : 0);
        second[k] = (k < n - 2 ? m[n - 2][k] : 0) - 2 * (k >= 1 && k - 1 < n - 2 ? m[n - 2][k - 1] : 0) +
                    (k >= 2 ? m[n - 2][k - 2] : 0);
    }
}

// The grid rows of atom a's points (index[d][k], already multiplied by the stride of dimension d)
// and its spline weights in each dimension.
DEVICE void atomSplines(int a, GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT recip,
                        int index[3][PME_ORDER], real w[3][PME_ORDER], real dw[3][PME_ORDER], real d2w[3][PME_ORDER]) {
    const int size[3] = {GRID_X, GRID_Y, GRID_Z};
    const int stride[3] = {GRID_Y * GRID_Z, GRID_Z, 1};
    for (int d = 0; d < 3; d++) {
        real u = recip[3 * d] * pos[3 * a] + recip[3 * d + 1] * pos[3 * a + 1] + recip[3 * d + 2] * pos[3 * a + 2];
        u = (u - floor(u)) * size[d];
        int base = (int) floor(u);
        const real fraction = u - base;
        base = base >= size[d] ? base - size[d] : base;  // u rounded up to the grid size
        for (int k = 0; k < PME_ORDER; k++) index[d][k] = ((base - k + 2 * size[d]) % size[d]) * stride[d];
        bsplines(fraction, w[d], dw[d], d2w[d]);
    }
}

// A dipole in grid units: mu_u[d] = size_d recip[d] . mu.
DEVICE void gridDipole(real mx, real my, real mz, GLOBAL const real* RESTRICT recip, real* mu) {
    const int size[3] = {GRID_X, GRID_Y, GRID_Z};
    for (int d = 0; d < 3; d++) mu[d] = size[d] * (recip[3 * d] * mx + recip[3 * d + 1] * my + recip[3 * d + 2] * mz);
}

// A gradient in grid units back to nm^-1: sum_d size_d gu[d] recip[d], scaled.
DEVICE void fromGridUnits(const real* gu, GLOBAL const real* RESTRICT recip, real scale, real* out) {
    const int size[3] = {GRID_X, GRID_Y, GRID_Z};
    for (int c = 0; c < 3; c++)
        out[c] = scale * (size[0] * gu[0] * recip[c] + size[1] * gu[1] * recip[3 + c] + size[2] * gu[2] * recip[6 + c]);
}

// Spread charges (useCharge) and dipoles (vectorMode 1: vectors as given; 2: times sqrt(alpha)).
KERNEL void spreadGrid(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT charge,
                       GLOBAL const real* RESTRICT vectors, GLOBAL const real* RESTRICT rootAlpha,
                       GLOBAL const real* RESTRICT recip, GLOBAL mm_ulong* RESTRICT grid, int numAtoms, int useCharge,
                       int vectorMode) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        int index[3][PME_ORDER];
        real w[3][PME_ORDER], dw[3][PME_ORDER], d2w[3][PME_ORDER];
        atomSplines(a, pos, recip, index, w, dw, d2w);
        const real q = useCharge ? charge[a] : 0;
        real mu[3] = {0, 0, 0};
        if (vectorMode) {
            const real scale = vectorMode == 2 ? rootAlpha[a] : 1;
            gridDipole(scale * vectors[3 * a], scale * vectors[3 * a + 1], scale * vectors[3 * a + 2], recip, mu);
        }
        for (int i = 0; i < PME_ORDER; i++)
            for (int j = 0; j < PME_ORDER; j++) {
                const real wij = w[0][i] * w[1][j];
                const real along = q * wij + mu[0] * dw[0][i] * w[1][j] + mu[1] * w[0][i] * dw[1][j], across = mu[2] * wij;
                for (int k = 0; k < PME_ORDER; k++) {
                    const real value = along * w[2][k] + across * dw[2][k];
                    ATOMIC_ADD(&grid[index[0][i] + index[1][j] + index[2][k]], (mm_ulong) ((mm_long) (value * GRID_SCALE)));
                }
            }
    }
}

// The fixed-point grid as reals, ready for the transform; the fixed-point grid is cleared for the next spread.
KERNEL void finishSpread(GLOBAL mm_long* RESTRICT fixed, GLOBAL real* RESTRICT grid) {
    for (int g = GLOBAL_ID; g < GRID_X * GRID_Y * GRID_Z; g += GLOBAL_SIZE) {
        grid[g] = (real) (fixed[g] / GRID_SCALE);
        fixed[g] = 0;
    }
}

// Multiply the half spectrum by the influence function; with wantEnergy, each point's share of E
// (points with 0 < k_z < GRID_Z / 2 stand for their mirror image too).
KERNEL void convolveGrid(GLOBAL real2* RESTRICT spectrum, GLOBAL const real* RESTRICT influence,
                         GLOBAL mixed* RESTRICT energy, int wantEnergy) {
    for (int g = GLOBAL_ID; g < GRID_X * GRID_Y * HALF_Z; g += GLOBAL_SIZE) {
        const real2 s = spectrum[g];
        const real f = influence[g];
        if (wantEnergy) {
            const int kz = g % HALF_Z;
            const int mirrored = kz > 0 && 2 * kz != GRID_Z;
            energy[g] = (mirrored ? 2 : 1) * f * ((mixed) s.x * s.x + (mixed) s.y * s.y);
        }
        spectrum[g] = make_real2(s.x * f, s.y * f);
    }
}

// out_a += factor (sqrt(alpha_a) when scaleByRoot) sum_g phi grad W_a: with factor -2, the field of
// the spread sources at atom a (e/nm^2).
KERNEL void addDipoleGradient(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT phi,
                              GLOBAL const real* RESTRICT recip, GLOBAL const real* RESTRICT rootAlpha,
                              GLOBAL real* RESTRICT out, int numAtoms, int scaleByRoot, real factor) {
    for (int a = GLOBAL_ID; a < numAtoms; a += GLOBAL_SIZE) {
        int index[3][PME_ORDER];
        real w[3][PME_ORDER], dw[3][PME_ORDER], d2w[3][PME_ORDER];
        atomSplines(a, pos, recip, index, w, dw, d2w);
        real gu[3] = {0, 0, 0};
        for (int i = 0; i < PME_ORDER; i++)
            for (int j = 0; j < PME_ORDER; j++)
                for (int k = 0; k < PME_ORDER; k++) {
                    const real p = phi[index[0][i] + index[1][j] + index[2][k]];
                    gu[0] += p * dw[0][i] * w[1][j] * w[2][k];
                    gu[1] += p * w[0][i] * dw[1][j] * w[2][k];
                    gu[2] += p * w[0][i] * w[1][j] * dw[2][k];
                }
        real g[3];
        fromGridUnits(gu, recip, factor * (scaleByRoot ? rootAlpha[a] : 1), g);
        out[3 * a] += g[0];
        out[3 * a + 1] += g[1];
        out[3 * a + 2] += g[2];
    }
}

// forces_a += factor sum_g phi (q_a grad W_a + (grad grad W_a) mu_a) (kJ/mol/nm with factor in kJ nm/mol/e^2),
// q and mu (``mu`` from ``muOffset`` on) when useCharge and useDipoles; the context's fixed-point forces
// in its atom order.
KERNEL void addPositionGradient(GLOBAL const real* RESTRICT pos, GLOBAL const real* RESTRICT phi,
                                GLOBAL const real* RESTRICT recip, GLOBAL const real* RESTRICT charge,
                                GLOBAL const real* RESTRICT mu, GLOBAL const int* RESTRICT atomIndex,
                                GLOBAL mm_long* RESTRICT forceBuffer, int numAtoms, int paddedNumAtoms, int useCharge,
                                int useDipoles, real factor, int muOffset) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int a = atomIndex[i];
        int index[3][PME_ORDER];
        real w[3][PME_ORDER], dw[3][PME_ORDER], d2w[3][PME_ORDER];
        atomSplines(a, pos, recip, index, w, dw, d2w);
        const real q = useCharge ? charge[a] : 0;
        real m[3] = {0, 0, 0};
        if (useDipoles) gridDipole(mu[muOffset + 3 * a], mu[muOffset + 3 * a + 1], mu[muOffset + 3 * a + 2], recip, m);
        real gu[3] = {0, 0, 0};
        for (int ii = 0; ii < PME_ORDER; ii++)
            for (int jj = 0; jj < PME_ORDER; jj++)
                for (int kk = 0; kk < PME_ORDER; kk++) {
                    const real p = phi[index[0][ii] + index[1][jj] + index[2][kk]];
                    const real w0 = w[0][ii], w1 = w[1][jj], w2 = w[2][kk], d0 = dw[0][ii], d1 = dw[1][jj], d2 = dw[2][kk];
                    const real h00 = d2w[0][ii] * w1 * w2, h11 = w0 * d2w[1][jj] * w2, h22 = w0 * w1 * d2w[2][kk];
                    const real h01 = d0 * d1 * w2, h02 = d0 * w1 * d2, h12 = w0 * d1 * d2;
                    gu[0] += p * (q * d0 * w1 * w2 + m[0] * h00 + m[1] * h01 + m[2] * h02);
                    gu[1] += p * (q * w0 * d1 * w2 + m[0] * h01 + m[1] * h11 + m[2] * h12);
                    gu[2] += p * (q * w0 * w1 * d2 + m[0] * h02 + m[1] * h12 + m[2] * h22);
                }
        real f[3];
        fromGridUnits(gu, recip, factor, f);
        forceBuffer[i] += (mm_long) (f[0] * 0x100000000);
        forceBuffer[i + paddedNumAtoms] += (mm_long) (f[1] * 0x100000000);
        forceBuffer[i + 2 * paddedNumAtoms] += (mm_long) (f[2] * 0x100000000);
    }
}

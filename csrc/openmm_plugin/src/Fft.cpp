#include "Fft.h"

#include <algorithm>
#include <cmath>

#include "openmm/OpenMMException.h"

namespace elyte {

using Complex = std::complex<double>;

Fft1d::Fft1d(int n) : n(n) {
    int rest = n;
    for (int f : {5, 3, 2})
        while (rest % f == 0) {
            factors.push_back(f);
            rest /= f;
        }
    if (rest != 1) throw OpenMM::OpenMMException("Fft1d: length " + std::to_string(n) + " has prime factors other than 2, 3, 5");
    for (int level = 0, m = n; level < static_cast<int>(factors.size()); m /= factors[level], level++) {
        const int r = factors[level], sub = m / r;
        for (int direction = 0; direction < 2; direction++) {
            const double sign = direction == 0 ? -1.0 : 1.0;
            twiddles[direction].emplace_back(static_cast<size_t>(sub) * r);
            for (int k = 0; k < sub; k++)
                for (int q = 0; q < r; q++)
                    twiddles[direction][level][k * r + q] = std::polar(1.0, sign * 2.0 * M_PI * q * k / m);
            butterflies[direction].emplace_back(static_cast<size_t>(r) * r);
            for (int s = 0; s < r; s++)
                for (int q = 0; q < r; q++)
                    butterflies[direction][level][s * r + q] = std::polar(1.0, sign * 2.0 * M_PI * q * s / r);
        }
    }
}

int Fft1d::goodSize(int n) {
    for (int m = std::max(n, 1);; m++) {
        int rest = m;
        for (int f : {2, 3, 5})
            while (rest % f == 0) rest /= f;
        if (rest == 1) return m;
    }
}

void Fft1d::recurse(const Complex* in, Complex* out, int m, int stride, int level, int sign) const {
    // Decimation in time: m = r * sub; sub-transforms of the r interleaved sequences, then radix-r butterflies.
    const int direction = sign < 0 ? 0 : 1, r = factors[level], sub = m / r;
    const Complex* bf = butterflies[direction][level].data();
    if (sub == 1) {  // the last level: a plain length-r DFT
        for (int s = 0; s < r; s++) {
            Complex sum = in[0];
            for (int q = 1; q < r; q++) sum += in[q * stride] * bf[s * r + q];
            out[s] = sum;
        }
        return;
    }
    for (int q = 0; q < r; q++) recurse(in + q * stride, out + q * sub, sub, stride * r, level + 1, sign);
    const Complex* tw = twiddles[direction][level].data();
    Complex t[5];
    for (int k = 0; k < sub; k++) {
        for (int q = 0; q < r; q++) t[q] = out[q * sub + k] * tw[k * r + q];
        if (r == 2) {
            out[k] = t[0] + t[1];
            out[k + sub] = t[0] - t[1];
            continue;
        }
        for (int s = 0; s < r; s++) {
            Complex sum = t[0];
            for (int q = 1; q < r; q++) sum += t[q] * bf[s * r + q];
            out[k + s * sub] = sum;
        }
    }
}

void Fft1d::run(Complex* data, long stride, int sign, std::vector<Complex>& scratch) const {
    scratch.resize(2 * n);
    for (int j = 0; j < n; j++) scratch[j] = data[j * stride];
    recurse(scratch.data(), scratch.data() + n, n, 1, 0, sign);
    for (int j = 0; j < n; j++) data[j * stride] = scratch[n + j];
}

namespace {

// Transform the lines grid[first + b + j * stride] (j < n) for `count` neighbouring lines b at once:
// gathering a block of neighbours reads whole cache lines when the lines themselves are strided.
void blockOfLines(Complex* first, int count, long stride, const Fft1d& plan, int sign, std::vector<Complex>& block,
                  std::vector<Complex>& scratch) {
    const int n = plan.size();
    block.resize(static_cast<size_t>(count) * n);
    for (int j = 0; j < n; j++)
        for (int b = 0; b < count; b++) block[b * n + j] = first[j * stride + b];
    for (int b = 0; b < count; b++) plan.run(&block[b * n], 1, sign, scratch);
    for (int j = 0; j < n; j++)
        for (int b = 0; b < count; b++) first[j * stride + b] = block[b * n + j];
}

const int BLOCK = 8;

}  // namespace

namespace {

// Transform every line along y and then along x of a grid [x][y][z < depth], in place.
void transformYX(Complex* grid, long nx, long ny, long depth, const Fft1d* plans, int sign, const Parallel& parallel) {
    const long blocks = (depth + BLOCK - 1) / BLOCK;
    parallel([&](int t, int count) {
        std::vector<Complex> scratch, block;
        for (long task = t; task < nx * blocks; task += count) {
            const long x = task / blocks, z = (task % blocks) * BLOCK;
            blockOfLines(&grid[x * ny * depth + z], static_cast<int>(std::min<long>(BLOCK, depth - z)), depth, plans[1],
                         sign, block, scratch);
        }
    });
    parallel([&](int t, int count) {
        std::vector<Complex> scratch, block;
        for (long task = t; task < ny * blocks; task += count) {
            const long y = task / blocks, z = (task % blocks) * BLOCK;
            blockOfLines(&grid[y * depth + z], static_cast<int>(std::min<long>(BLOCK, depth - z)), ny * depth, plans[0],
                         sign, block, scratch);
        }
    });
}

}  // namespace

void realFft3d(const std::vector<double>& real, std::vector<Complex>& half, const Fft1d* plans,
               const Parallel& parallel) {
    // two real z-lines at a time as one complex line a + i b; A(k) = (Z(k) + Z*(-k)) / 2, B(k) = (Z(k) - Z*(-k)) / 2i
    const long nx = plans[0].size(), ny = plans[1].size(), nz = plans[2].size(), depth = nz / 2 + 1, lines = nx * ny;
    half.resize(lines * depth);
    parallel([&](int t, int count) {
        std::vector<Complex> line(nz), scratch;
        for (long a = 2 * t; a < lines; a += 2 * count) {
            const long b = a + 1;
            for (long k = 0; k < nz; k++) line[k] = Complex(real[a * nz + k], b < lines ? real[b * nz + k] : 0.0);
            plans[2].run(line.data(), 1, -1, scratch);
            for (long k = 0; k < depth; k++) {
                const Complex z = line[k], mirror = std::conj(line[(nz - k) % nz]);
                half[a * depth + k] = 0.5 * (z + mirror);
                if (b < lines) half[b * depth + k] = Complex(0.0, -0.5) * (z - mirror);
            }
        }
    });
    transformYX(half.data(), nx, ny, depth, plans, -1, parallel);
}

void inverseRealFft3d(std::vector<Complex>& half, std::vector<double>& real, const Fft1d* plans,
                      const Parallel& parallel) {
    const long nx = plans[0].size(), ny = plans[1].size(), nz = plans[2].size(), depth = nz / 2 + 1, lines = nx * ny;
    transformYX(half.data(), nx, ny, depth, plans, +1, parallel);
    real.resize(lines * nz);
    parallel([&](int t, int count) {
        std::vector<Complex> line(nz), scratch;
        const Complex i(0.0, 1.0);
        for (long a = 2 * t; a < lines; a += 2 * count) {
            const long b = a + 1;
            for (long k = 0; k < nz; k++) {  // the Hermitian spectra A + i B on the whole line
                const long m = k < depth ? k : nz - k;
                const Complex ak = k < depth ? half[a * depth + m] : std::conj(half[a * depth + m]);
                const Complex bk = b >= lines ? Complex() : (k < depth ? half[b * depth + m] : std::conj(half[b * depth + m]));
                line[k] = ak + i * bk;
            }
            plans[2].run(line.data(), 1, +1, scratch);
            for (long k = 0; k < nz; k++) {
                real[a * nz + k] = line[k].real();
                if (b < lines) real[b * nz + k] = line[k].imag();
            }
        }
    });
}

}  // namespace elyte

#ifndef ELYTE_FFT_H_
#define ELYTE_FFT_H_

// A small mixed-radix (2, 3, 5) FFT for the PME grids of PolarizationForce: complex lines, and
// 3-D transforms of real grids through their half spectra.

#include <complex>
#include <vector>

#include "Parallel.h"

namespace elyte {

class Fft1d {
public:
    explicit Fft1d(int n);
    int size() const { return n; }
    /** In place on data[0], data[stride], ...; sign -1 forward, +1 backward (unnormalized). */
    void run(std::complex<double>* data, long stride, int sign, std::vector<std::complex<double>>& scratch) const;
    /** The smallest length >= n whose prime factors are 2, 3 and 5. */
    static int goodSize(int n);

private:
    void recurse(const std::complex<double>* in, std::complex<double>* out, int m, int stride, int level, int sign) const;
    int n;
    std::vector<int> factors;
    // per sign (0: forward, 1: backward) and level: W_m^(+-q k) as [k][q], W_r^(+-q s) as [s][q]
    std::vector<std::vector<std::complex<double>>> twiddles[2], butterflies[2];
};

/** Forward (unnormalized) 3-D transform of a real grid stored [x][y][z] to its half spectrum
 * [x][y][k_z <= nz/2]; ``parallel(task(t, count))`` splits the lines over threads. */
void realFft3d(const std::vector<double>& real, std::vector<std::complex<double>>& half, const Fft1d* plans,
               const Parallel& parallel);
/** Backward (unnormalized) transform of a Hermitian half spectrum (overwritten) to the real grid. */
void inverseRealFft3d(std::vector<std::complex<double>>& half, std::vector<double>& real, const Fft1d* plans,
                      const Parallel& parallel);

}  // namespace elyte

#endif

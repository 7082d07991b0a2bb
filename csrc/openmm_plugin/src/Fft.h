#ifndef ELYTE_FFT_H_
#define ELYTE_FFT_H_

// A small mixed-radix (2, 3, 5) complex FFT for the PME grids of PolarizationForce.

#include <complex>
#include <functional>
#include <vector>

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

/** 3-D transform of a grid stored [x][y][z]; ``parallel(task(t, count))`` splits the lines over threads. */
void fft3d(std::vector<std::complex<double>>& grid, const Fft1d* plans, int sign,
           const std::function<void(const std::function<void(int, int)>&)>& parallel);

}  // namespace elyte

#endif

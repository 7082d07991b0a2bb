#ifndef ELYTE_SCREENING_TABLE_H_
#define ELYTE_SCREENING_TABLE_H_

// erfc(beta r) and exp(-beta^2 r^2) by cubic Hermite interpolation on a uniform grid in r (nm):
// the CPU platform's Ewald screening, in place of two libm calls per pair. The node spacing keeps
// the interpolation error near 1e-14 (absolute); beyond the table both are evaluated exactly.

#include <vector>

namespace elyte {

class ScreeningTable {
public:
    /** A table on [0, rmax] for the Ewald parameter beta (1/nm). */
    ScreeningTable(double beta, double rmax);
    /** erfc(beta r) and exp(-beta^2 r^2). */
    void evaluate(double r, double& complement, double& gaussian) const;

private:
    double beta, rmax, inverseSpacing;
    std::vector<double> nodes;  // per node: erfc, h d(erfc)/dr, exp, h d(exp)/dr
};

}  // namespace elyte

#endif

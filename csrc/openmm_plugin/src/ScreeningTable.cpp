#include "ScreeningTable.h"

#include <cmath>

namespace elyte {

namespace {
const double SPACING = 2.5e-4;  // nm: with beta ~ 3 / nm, (beta h)^4 / 384 ~ 1e-14
}

ScreeningTable::ScreeningTable(double beta, double rmax) : beta(beta), rmax(rmax), inverseSpacing(1.0 / SPACING) {
    const int count = static_cast<int>(std::ceil(rmax * inverseSpacing)) + 2;
    nodes.resize(4 * count);
    const double slope = -2.0 * beta / std::sqrt(M_PI);
    for (int k = 0; k < count; k++) {
        const double r = k * SPACING, gaussian = std::exp(-beta * beta * r * r);
        nodes[4 * k] = std::erfc(beta * r);
        nodes[4 * k + 1] = SPACING * slope * gaussian;
        nodes[4 * k + 2] = gaussian;
        nodes[4 * k + 3] = SPACING * (-2.0 * beta * beta * r) * gaussian;
    }
}

void ScreeningTable::evaluate(double r, double& complement, double& gaussian) const {
    if (r >= rmax) {
        complement = std::erfc(beta * r);
        gaussian = std::exp(-beta * beta * r * r);
        return;
    }
    const double x = r * inverseSpacing;
    const int k = static_cast<int>(x);
    const double t = x - k, t2 = t * t, t3 = t2 * t;
    const double h00 = 2.0 * t3 - 3.0 * t2 + 1.0, h10 = t3 - 2.0 * t2 + t, h01 = -2.0 * t3 + 3.0 * t2, h11 = t3 - t2;
    const double* a = &nodes[4 * k];
    complement = h00 * a[0] + h10 * a[1] + h01 * a[4] + h11 * a[5];
    gaussian = h00 * a[2] + h10 * a[3] + h01 * a[6] + h11 * a[7];
}

}  // namespace elyte

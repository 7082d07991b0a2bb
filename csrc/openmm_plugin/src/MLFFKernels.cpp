#include "MLFFKernels.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <array>
#include <cmath>
#include <string>
#include <tuple>

#include "openmm/OpenMMException.h"
#include "openmm/internal/ContextImpl.h"
#include "openmm/reference/ReferencePlatform.h"

namespace elyte {

using OpenMM::OpenMMException;
using OpenMM::Vec3;

namespace {

OpenMM::ReferencePlatform::PlatformData& platformData(OpenMM::ContextImpl& context) {
    return *static_cast<OpenMM::ReferencePlatform::PlatformData*>(context.getPlatformData());
}

/** Half neighbour list (pairs [2, P], shifts [P, 3]) from the project's torch op elyte::neighbor_pairs. */
std::tuple<at::Tensor, at::Tensor> neighborPairs(const at::Tensor& positions, const at::Tensor& box, bool periodic,
                                                 double cutoff) {
    static auto op = c10::Dispatcher::singleton()
                         .findSchemaOrThrow("elyte::neighbor_pairs", "")
                         .typed<std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                                   std::array<bool, 3>, double)>();
    return op.call(positions, box, {periodic, periodic, periodic}, cutoff);
}

/**
 * Integer triples n [K, 3] of the reciprocal vectors k = 2 pi n inv(box)^T with 0 < |k| < kmax,
 * one of each +-n pair (first non-zero component positive), in lexicographic order: the set of
 * elyte.electrostatics.ewald.reciprocal_integers, which the package's Ewald sum expects.
 */
at::Tensor reciprocalIntegers(const at::Tensor& box, double kmax) {
    const at::Tensor reciprocal = (2.0 * M_PI) * at::linalg_inv(box).t().contiguous();  // rows b1, b2, b3
    auto b = reciprocal.accessor<double, 2>();
    auto a = box.accessor<double, 2>();
    int limits[3];
    for (int i = 0; i < 3; i++)
        limits[i] = static_cast<int>(std::ceil(kmax * std::sqrt(a[i][0] * a[i][0] + a[i][1] * a[i][1] +
                                                                a[i][2] * a[i][2]) / (2.0 * M_PI)));
    std::vector<int64_t> kept;
    for (int n0 = -limits[0]; n0 <= limits[0]; n0++)
        for (int n1 = -limits[1]; n1 <= limits[1]; n1++)
            for (int n2 = -limits[2]; n2 <= limits[2]; n2++) {
                const int first = n0 != 0 ? n0 : (n1 != 0 ? n1 : n2);
                if (first <= 0) continue;
                double k2 = 0;
                for (int d = 0; d < 3; d++) {
                    const double k = n0 * b[0][d] + n1 * b[1][d] + n2 * b[2][d];
                    k2 += k * k;
                }
                if (k2 < kmax * kmax) kept.insert(kept.end(), {n0, n1, n2});
            }
    return at::tensor(kept, at::kLong).reshape({-1, 3});
}

std::string text(double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
    return buffer;
}

}  // namespace

PackageSettings packageSettings(const MLFFForce& force, const std::string& device, const std::string& platforms) {
    const std::string type = force.getMetadata("dtype");
    if (type != "float64" && type != "float32")
        throw OpenMMException("MLFFForce: unsupported package dtype " + type);
    if (force.getMetadata("AOTI_DEVICE_KEY") != device)
        throw OpenMMException("MLFFForce: the package is compiled for " + force.getMetadata("AOTI_DEVICE_KEY") + "; the " +
                              platforms + " need one compiled for " + device + " (mlff.deploy.export(device=\"" +
                              device + "\"))");
    PackageSettings s;
    s.dtype = type == "float64" ? at::kDouble : at::kFloat;
    s.periodic = force.usesPeriodicBoundaryConditions();
    s.kmax = force.getKmax();
    s.cutoff = force.getCutoff();
    s.longCutoff = force.getLongCutoff();
    return s;
}

std::vector<at::Tensor> packageInputs(const at::Tensor& x, const at::Tensor& box, const PackageSettings& s) {
    if (!x.isfinite().all().item<bool>())
        throw OpenMMException("MLFFForce: a position is NaN or infinite; the simulation has blown up (reduce the "
                              "time step or minimize the energy first)");
    if (s.periodic) {
        auto b = box.accessor<double, 2>();
        const double width = std::min(b[0][0], std::min(b[1][1], b[2][2]));
        if (width < 2.0 * s.longCutoff)
            throw OpenMMException("MLFFForce: the box has shrunk to " + text(width) +
                                  " nm, less than twice the model's cutoff (" + text(s.longCutoff) + " nm)");
    }
    const at::Tensor deviceBox = box.to(x.device());
    at::Tensor pairs, shifts;
    try {
        std::tie(pairs, shifts) = neighborPairs(x, deviceBox, s.periodic, s.longCutoff);
    } catch (const std::exception& error) {
        throw OpenMMException(std::string("MLFFForce: neighbour list: ") + error.what());
    }
    // both directions of each pair, then those within the message-passing cutoff
    at::Tensor longEdges = at::cat({pairs, pairs.flip(0)}, 1);
    at::Tensor longShifts = at::cat({shifts, -shifts}, 0);
    at::Tensor vectors = x.index_select(0, longEdges[1]) - x.index_select(0, longEdges[0]);
    if (s.periodic) vectors = vectors + at::matmul(longShifts.to(at::kDouble), deviceBox);
    at::Tensor shortMask = vectors.norm(2, 1) < s.cutoff;
    at::Tensor edges = longEdges.index({at::indexing::Slice(), shortMask});
    at::Tensor edgeShifts = longShifts.index({shortMask});
    if (edges.size(1) < 2)
        throw OpenMMException("MLFFForce: fewer than two atom pairs within the cutoff; the package needs at least one");
    at::Tensor integers = s.periodic ? reciprocalIntegers(box, s.kmax) : at::zeros({1, 3}, at::kLong);
    return {x.to(s.dtype), deviceBox.to(s.dtype), edges, edgeShifts, longEdges, longShifts, integers.to(x.device())};
}

std::vector<at::Tensor> runPackage(torch::inductor::AOTIModelPackageLoader& package, const std::vector<at::Tensor>& inputs) {
    at::NoGradGuard noGrad;
    return package.run(inputs);
}

double packageEnergy(const at::Tensor& energy) {
    const double value = energy.item<double>();
    if (!std::isfinite(value))
        throw OpenMMException("MLFFForce: the model's energy is not finite; the simulation has blown up (reduce the "
                              "time step or minimize the energy first)");
    return value;
}

CpuCalcMLFFForceKernel::CpuCalcMLFFForceKernel(std::string name, const OpenMM::Platform& platform)
    : CalcMLFFForceKernel(name, platform) {}

CpuCalcMLFFForceKernel::~CpuCalcMLFFForceKernel() = default;

void CpuCalcMLFFForceKernel::initialize(const OpenMM::System&, const MLFFForce& force) {
    settings = packageSettings(force, "cpu", "Reference and CPU platforms");
    try {
        package = std::make_unique<torch::inductor::AOTIModelPackageLoader>(force.getPackagePath(), "model");
    } catch (const std::exception& error) {
        throw OpenMMException("MLFFForce: cannot load " + force.getPackagePath() + ": " + error.what());
    }
    particles = force.getParticles();
}

double CpuCalcMLFFForceKernel::execute(OpenMM::ContextImpl& context, bool includeForces, bool) {
    auto& data = platformData(context);
    const std::vector<Vec3>& positions = *data.positions;
    const int n = static_cast<int>(particles.size());
    auto options = at::TensorOptions().dtype(at::kDouble);
    at::Tensor x = at::empty({n, 3}, options);
    auto xs = x.accessor<double, 2>();
    for (int k = 0; k < n; k++)
        for (int d = 0; d < 3; d++) xs[k][d] = positions[particles[k]][d];
    at::Tensor box = at::eye(3, options);
    if (settings.periodic) {
        auto bs = box.accessor<double, 2>();
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < 3; d++) bs[i][d] = data.periodicBoxVectors[i][d];
    }
    const std::vector<at::Tensor> outputs = runPackage(*package, packageInputs(x, box, settings));
    const double energy = packageEnergy(outputs[0]);
    if (includeForces) {
        at::Tensor f = outputs[1].to(at::kDouble).contiguous();
        auto fs = f.accessor<double, 2>();
        std::vector<Vec3>& forces = *data.forces;
        for (int k = 0; k < n; k++) forces[particles[k]] += Vec3(fs[k][0], fs[k][1], fs[k][2]);
    }
    return energy;
}

OpenMM::KernelImpl* MLFFKernelFactory::createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                                        OpenMM::ContextImpl&) const {
    if (name == CalcMLFFForceKernel::Name()) return new CpuCalcMLFFForceKernel(name, platform);
    throw OpenMMException("elyte MLFF plugin: no kernel named " + name);
}

}  // namespace elyte

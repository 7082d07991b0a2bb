// The mlff force on OpenMM's CUDA platform (libelyte_openmm_mlff_cuda.so): the package compiled for
// CUDA runs on the context's GPU with no host copies of positions or forces. A device kernel gathers
// the model's atoms from the context's positions (its sorted order, in the package's order) into a
// float64 array that torch reads in place; the forces torch returns are copied device to device and
// added to the context's fixed-point forces by a second kernel. Only the box (9 numbers) and the
// energy (one) cross to the host. The two sides' streams are ordered by synchronizing OpenMM's
// stream before torch reads and reading the energy (which waits for torch's stream) before the copy.

#include <cuda.h>
#include <torch/cuda.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <memory>
#include <string>
#include <vector>

#include "../MLFFKernels.h"
#include "openmm/OpenMMException.h"
#include "openmm/common/ComputeArray.h"
#include "openmm/common/ContextSelector.h"
#include "openmm/cuda/CudaArray.h"
#include "openmm/cuda/CudaContext.h"
#include "openmm/internal/ContextImpl.h"

namespace elyte {

namespace {

// OpenMM's common kernel dialect; FORCE_TYPE is the package's dtype
const char* const SOURCE = R"(
KERNEL void gatherModelPositions(GLOBAL const real4* RESTRICT posq, GLOBAL const int* RESTRICT atomIndex,
                                 GLOBAL const int* RESTRICT modelIndex, GLOBAL double* RESTRICT x, int numAtoms) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int m = modelIndex[atomIndex[i]];
        if (m >= 0) {
            x[3 * m] = posq[i].x;
            x[3 * m + 1] = posq[i].y;
            x[3 * m + 2] = posq[i].z;
        }
    }
}

KERNEL void addModelForces(GLOBAL const FORCE_TYPE* RESTRICT f, GLOBAL const int* RESTRICT atomIndex,
                           GLOBAL const int* RESTRICT modelIndex, GLOBAL mm_long* RESTRICT forceBuffer, int numAtoms,
                           int paddedNumAtoms) {
    for (int i = GLOBAL_ID; i < numAtoms; i += GLOBAL_SIZE) {
        const int m = modelIndex[atomIndex[i]];
        if (m >= 0)
            for (int d = 0; d < 3; d++) forceBuffer[i + d * paddedNumAtoms] += (mm_long) (f[3 * m + d] * 0x100000000);
    }
}
)";

void check(CUresult result, const char* what) {
    if (result != CUDA_SUCCESS) {
        const char* message = nullptr;
        cuGetErrorString(result, &message);
        throw OpenMM::OpenMMException(std::string("MLFFForce on CUDA: ") + what + ": " + (message ? message : "?"));
    }
}

class CudaCalcMLFFForceKernel : public CalcMLFFForceKernel {
public:
    CudaCalcMLFFForceKernel(std::string name, const OpenMM::Platform& platform, OpenMM::CudaContext& cu)
        : CalcMLFFForceKernel(name, platform), cu(cu) {}

    void initialize(const OpenMM::System& system, const MLFFForce& force) override {
        settings = packageSettings(force, "cuda", "CUDA platform");
        OpenMM::ContextSelector selector(cu);
        try {
            package = std::make_unique<torch::inductor::AOTIModelPackageLoader>(force.getPackagePath(), "model", false,
                                                                                1, cu.getDeviceIndex());
        } catch (const std::exception& error) {
            throw OpenMM::OpenMMException("MLFFForce: cannot load " + force.getPackagePath() + ": " + error.what());
        }
        const std::vector<int> particles = force.getParticles();
        std::vector<int> model(system.getNumParticles(), -1);
        for (size_t m = 0; m < particles.size(); m++) model[particles[m]] = static_cast<int>(m);
        numModelAtoms = static_cast<int>(particles.size());
        modelIndex.initialize<int>(cu, model.size(), "elyteModelIndex");
        modelIndex.upload(model);
        positions.initialize<double>(cu, 3 * numModelAtoms, "elyteModelPositions");
        const int forceSize = settings.dtype == at::kDouble ? sizeof(double) : sizeof(float);
        forces.initialize(cu, 3 * numModelAtoms, forceSize, "elyteModelForces");
        std::map<std::string, std::string> defines;
        defines["FORCE_TYPE"] = settings.dtype == at::kDouble ? "double" : "float";
        OpenMM::ComputeProgram program = cu.compileProgram(SOURCE, defines);
        gather = program->createKernel("gatherModelPositions");
        gather->addArg(cu.getPosq());
        gather->addArg(cu.getAtomIndexArray());
        gather->addArg(modelIndex);
        gather->addArg(positions);
        gather->addArg(cu.getNumAtoms());
        scatter = program->createKernel("addModelForces");
        scatter->addArg(forces);
        scatter->addArg(cu.getAtomIndexArray());
        scatter->addArg(modelIndex);
        scatter->addArg(cu.getLongForceBuffer());
        scatter->addArg(cu.getNumAtoms());
        scatter->addArg(cu.getPaddedNumAtoms());
    }

    double execute(OpenMM::ContextImpl&, bool includeForces, bool) override {
        OpenMM::ContextSelector selector(cu);
        gather->execute(cu.getNumAtoms());
        check(cuStreamSynchronize(cu.getCurrentStream()), "waiting for the positions");
        const auto device = at::Device(at::kCUDA, static_cast<at::DeviceIndex>(cu.getDeviceIndex()));
        at::Tensor x = at::from_blob(reinterpret_cast<void*>(cu.unwrap(positions).getDevicePointer()), {numModelAtoms, 3},
                                     at::TensorOptions().dtype(at::kDouble).device(device));
        at::Tensor box = at::eye(3, at::kDouble);
        if (settings.periodic) {
            OpenMM::Vec3 vectors[3];
            cu.getPeriodicBoxVectors(vectors[0], vectors[1], vectors[2]);
            auto b = box.accessor<double, 2>();
            for (int i = 0; i < 3; i++)
                for (int d = 0; d < 3; d++) b[i][d] = vectors[i][d];
        }
        const std::vector<at::Tensor> outputs = runPackage(*package, packageInputs(x, box, settings));
        const double energy = packageEnergy(outputs[0]);  // waits for torch's stream: the forces are done too
        if (includeForces) {
            modelForces = outputs[1].to(settings.dtype).contiguous();  // kept alive until the copy has run
            check(cuMemcpyDtoDAsync(cu.unwrap(forces).getDevicePointer(),
                                    reinterpret_cast<CUdeviceptr>(modelForces.data_ptr()),
                                    modelForces.numel() * modelForces.element_size(), cu.getCurrentStream()),
                  "copying the forces");
            scatter->execute(cu.getNumAtoms());
        }
        return energy;
    }

private:
    OpenMM::CudaContext& cu;
    PackageSettings settings;
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> package;
    int numModelAtoms = 0;
    OpenMM::ComputeArray modelIndex, positions, forces;
    OpenMM::ComputeKernel gather, scatter;
    at::Tensor modelForces;
};

class CudaMLFFKernelFactory : public OpenMM::KernelFactory {
public:
    OpenMM::KernelImpl* createKernelImpl(std::string name, const OpenMM::Platform& platform,
                                         OpenMM::ContextImpl& context) const override {
        auto& data = *static_cast<OpenMM::CudaPlatform::PlatformData*>(context.getPlatformData());
        if (name == CalcMLFFForceKernel::Name()) return new CudaCalcMLFFForceKernel(name, platform, *data.contexts[0]);
        throw OpenMM::OpenMMException("elyte MLFF plugin: no CUDA kernel named " + name);
    }
};

}  // namespace

}  // namespace elyte

// OpenMM looks this up in every plugin library it loads, and without it would find libOpenMMCUDA's
// own (a dependency of this one) and register a second CUDA platform.
extern "C" OPENMM_EXPORT void registerPlatforms() {}

extern "C" OPENMM_EXPORT void registerKernelFactories() {
    for (int i = 0; i < OpenMM::Platform::getNumPlatforms(); i++) {
        OpenMM::Platform& platform = OpenMM::Platform::getPlatform(i);
        if (platform.getName() == "CUDA")
            platform.registerKernelFactory(elyte::CalcMLFFForceKernel::Name(), new elyte::CudaMLFFKernelFactory());
    }
}

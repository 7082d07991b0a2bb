// XML serialization of PolarizationForce (registered when the library loads).

#include <typeinfo>
#include <vector>

#include "elyte/PolarizationForce.h"
#include "openmm/OpenMMException.h"
#include "openmm/serialization/SerializationNode.h"
#include "openmm/serialization/SerializationProxy.h"

namespace elyte {

class PolarizationForceProxy : public OpenMM::SerializationProxy {
public:
    PolarizationForceProxy() : SerializationProxy("ElytePolarizationForce") {}

    void serialize(const void* object, OpenMM::SerializationNode& node) const override {
        node.setIntProperty("version", 2);
        const auto& force = *static_cast<const PolarizationForce*>(object);
        node.setIntProperty("forceGroup", force.getForceGroup());
        node.setStringProperty("name", force.getName());
        node.setDoubleProperty("tholeA", force.getTholeA());
        node.setIntProperty("method", force.getNonbondedMethod());
        node.setDoubleProperty("cutoff", force.getCutoffDistance());
        node.setDoubleProperty("ewaldTolerance", force.getEwaldErrorTolerance());
        node.setIntProperty("polarizationType", force.getPolarizationType());
        auto& coefficients = node.createChildNode("ExtrapolationCoefficients");
        for (double c : force.getExtrapolationCoefficients())
            coefficients.createChildNode("Coefficient").setDoubleProperty("c", c);
        node.setDoubleProperty("mutualTolerance", force.getMutualInducedTolerance());
        node.setIntProperty("maxIterations", force.getMutualInducedMaxIterations());
        node.setBoolProperty("includeChargeCharge", force.getIncludeChargeChargeEnergy());
        auto& particles = node.createChildNode("Particles");
        for (int i = 0; i < force.getNumParticles(); i++) {
            double q, alpha, damping;
            force.getParticleParameters(i, q, alpha, damping);
            particles.createChildNode("Particle").setDoubleProperty("q", q).setDoubleProperty("alpha", alpha)
                .setDoubleProperty("damping", damping);
        }
        auto& exceptions = node.createChildNode("Exceptions");
        for (int k = 0; k < force.getNumExceptions(); k++) {
            int a, b;
            double cs, fs, ds;
            force.getExceptionParameters(k, a, b, cs, fs, ds);
            exceptions.createChildNode("Exception").setIntProperty("p1", a).setIntProperty("p2", b)
                .setDoubleProperty("charge", cs).setDoubleProperty("field", fs).setDoubleProperty("dipole", ds);
        }
    }

    void* deserialize(const OpenMM::SerializationNode& node) const override {
        const int version = node.getIntProperty("version");
        if (version < 1 || version > 2)
            throw OpenMM::OpenMMException("ElytePolarizationForce: unsupported serialization version " +
                                          std::to_string(node.getIntProperty("version")));
        auto* force = new PolarizationForce();
        try {
            force->setForceGroup(node.getIntProperty("forceGroup"));
            force->setName(node.getStringProperty("name"));
            force->setTholeA(node.getDoubleProperty("tholeA"));
            force->setNonbondedMethod(static_cast<PolarizationForce::NonbondedMethod>(node.getIntProperty("method")));
            force->setCutoffDistance(node.getDoubleProperty("cutoff"));
            force->setEwaldErrorTolerance(node.getDoubleProperty("ewaldTolerance"));
            force->setPolarizationType(
                static_cast<PolarizationForce::PolarizationType>(node.getIntProperty("polarizationType")));
            if (version >= 2) {
                std::vector<double> coefficients;
                for (const auto& c : node.getChildNode("ExtrapolationCoefficients").getChildren())
                    coefficients.push_back(c.getDoubleProperty("c"));
                force->setExtrapolationCoefficients(coefficients);
            }
            force->setMutualInducedTolerance(node.getDoubleProperty("mutualTolerance"));
            force->setMutualInducedMaxIterations(node.getIntProperty("maxIterations"));
            force->setIncludeChargeChargeEnergy(node.getBoolProperty("includeChargeCharge"));
            for (const auto& p : node.getChildNode("Particles").getChildren())
                force->addParticle(p.getDoubleProperty("q"), p.getDoubleProperty("alpha"), p.getDoubleProperty("damping"));
            for (const auto& e : node.getChildNode("Exceptions").getChildren())
                force->addException(e.getIntProperty("p1"), e.getIntProperty("p2"), e.getDoubleProperty("charge"),
                                    e.getDoubleProperty("field"), e.getDoubleProperty("dipole"));
        } catch (...) {
            delete force;
            throw;
        }
        return force;
    }
};

void registerPolarizationSerializationProxy() {
    OpenMM::SerializationProxy::registerProxy(typeid(PolarizationForce), new PolarizationForceProxy());
}

}  // namespace elyte

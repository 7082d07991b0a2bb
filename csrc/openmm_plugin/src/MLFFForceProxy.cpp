// XML serialization of MLFFForce (registered when the library loads). The package is referred to
// by its path, which must still hold the same package when the XML is read.

#include <vector>

#include "elyte/MLFFForce.h"
#include "openmm/OpenMMException.h"
#include "openmm/serialization/SerializationNode.h"
#include "openmm/serialization/SerializationProxy.h"

namespace elyte {

class MLFFForceProxy : public OpenMM::SerializationProxy {
public:
    MLFFForceProxy() : SerializationProxy("ElyteMLFFForce") {}

    void serialize(const void* object, OpenMM::SerializationNode& node) const override {
        node.setIntProperty("version", 1);
        const auto& force = *static_cast<const MLFFForce*>(object);
        node.setIntProperty("forceGroup", force.getForceGroup());
        node.setStringProperty("name", force.getName());
        node.setStringProperty("package", force.getPackagePath());
        auto& particles = node.createChildNode("Particles");
        for (int p : force.getParticles()) particles.createChildNode("Particle").setIntProperty("index", p);
    }

    void* deserialize(const OpenMM::SerializationNode& node) const override {
        if (node.getIntProperty("version") != 1)
            throw OpenMM::OpenMMException("ElyteMLFFForce: unsupported serialization version " +
                                          std::to_string(node.getIntProperty("version")));
        std::vector<int> particles;
        for (const auto& child : node.getChildNode("Particles").getChildren())
            particles.push_back(child.getIntProperty("index"));
        auto* force = new MLFFForce(node.getStringProperty("package"), particles);
        force->setForceGroup(node.getIntProperty("forceGroup"));
        force->setName(node.getStringProperty("name"));
        return force;
    }
};

void registerMLFFSerializationProxy() {
    OpenMM::SerializationProxy::registerProxy(typeid(MLFFForce), new MLFFForceProxy());
}

}  // namespace elyte

#include "elyte/MLFFForce.h"

#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <fstream>
#include <sstream>

#include "elyte/internal/MLFFForceImpl.h"
#include "openmm/OpenMMException.h"

namespace elyte {

using OpenMM::OpenMMException;

namespace {

constexpr int kFormatVersion = 1;  // mlff.deploy.FORMAT_VERSION

std::vector<double> parseList(const std::string& text) {
    std::vector<double> values;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) values.push_back(std::stod(item));
    return values;
}

}  // namespace

MLFFForce::MLFFForce(const std::string& packagePath, const std::vector<int>& particles)
    : packagePath(packagePath), particles(particles) {
    if (!std::ifstream(packagePath).good())
        throw OpenMMException("MLFFForce: model package " + packagePath +
                              " does not exist; write one with mlff.deploy.export (or mlff.openmm.mlff_force)");
    std::unordered_map<std::string, std::string> entries;
    try {
        entries = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(packagePath, "model");
    } catch (const std::exception& error) {
        throw OpenMMException("MLFFForce: " + packagePath + " is not a readable model package (" + error.what() + ")");
    }
    auto get = [&](const std::string& key) {
        auto found = entries.find(key);
        if (found == entries.end())
            throw OpenMMException("MLFFForce: " + packagePath + " has no '" + key +
                                  "' entry; it is not a package written by mlff.deploy");
        return found->second;
    };
    if (get("format") != "elyte-mlff-package")
        throw OpenMMException("MLFFForce: " + packagePath + " is a '" + get("format") + "' file, not an mlff package");
    if (std::stoi(get("format_version")) != kFormatVersion)
        throw OpenMMException("MLFFForce: " + packagePath + " has package format version " + get("format_version") +
                              " but this plugin reads version " + std::to_string(kFormatVersion) +
                              "; export the model again with this version of elyte");
    for (double z : parseList(get("atomic_numbers"))) atomicNumbers.push_back(static_cast<int>(z));
    totalCharge = std::stod(get("total_charge"));
    periodic = get("periodic") == "1";
    cutoff = std::stod(get("cutoff_nm"));
    longCutoff = std::stod(get("long_cutoff_nm"));
    if (periodic) kmax = std::stod(get("kmax_per_nm"));
    for (const auto& entry : entries) metadata.emplace_back(entry.first, entry.second);
    if (!particles.empty()) setParticles(particles);
}

std::vector<int> MLFFForce::getParticles() const {
    if (!particles.empty()) return particles;
    std::vector<int> all(atomicNumbers.size());
    for (size_t i = 0; i < all.size(); i++) all[i] = static_cast<int>(i);
    return all;
}

void MLFFForce::setParticles(const std::vector<int>& indices) {
    if (!indices.empty() && indices.size() != atomicNumbers.size())
        throw OpenMMException("MLFFForce: the package is compiled for " + std::to_string(atomicNumbers.size()) +
                              " atoms but " + std::to_string(indices.size()) + " particles were given");
    particles = indices;
}

std::string MLFFForce::getMetadata(const std::string& key) const {
    for (const auto& entry : metadata)
        if (entry.first == key) return entry.second;
    throw OpenMMException("MLFFForce: the package has no metadata entry '" + key + "'");
}

OpenMM::ForceImpl* MLFFForce::createImpl() const { return new MLFFForceImpl(*this); }

}  // namespace elyte

#ifndef ELYTE_MLFF_FORCE_H_
#define ELYTE_MLFF_FORCE_H_

// A trained mlff model inside OpenMM: the energy and forces of a compiled model package (an
// AOTInductor .pt2 file written by mlff.deploy, run by libtorch without Python) on a set of the
// System's particles. The package is compiled for one system: its atoms' elements and order, total
// charge, periodicity and cutoffs are in its metadata, and the force checks them against the
// System. At every step the neighbour lists are built by the project's compiled neighbour-list op
// (cell list, triclinic boxes) and the Ewald reciprocal vectors of the current box are listed, so
// the box may change freely (NPT) while it stays wider than twice the long cutoff.
//
// OpenMM units: nm, kJ/mol.

#include <string>
#include <vector>

#include "openmm/Force.h"

namespace elyte {

class MLFFForce : public OpenMM::Force {
public:
    /**
     * @param packagePath  the .pt2 package (mlff.deploy.export)
     * @param particles    System indices of the model's atoms, in the package's order; empty means
     *                     particles 0 .. n-1 (a System made of the model's atoms only)
     */
    explicit MLFFForce(const std::string& packagePath, const std::vector<int>& particles = {});

    const std::string& getPackagePath() const { return packagePath; }
    /** System indices of the model's atoms (0 .. n-1 when none were given). */
    std::vector<int> getParticles() const;
    void setParticles(const std::vector<int>& particles);
    /** Atoms the package was compiled for. */
    int getNumAtoms() const { return static_cast<int>(atomicNumbers.size()); }
    const std::vector<int>& getAtomicNumbers() const { return atomicNumbers; }
    double getTotalCharge() const { return totalCharge; }
    /** Message-passing and long-range cutoffs (nm). */
    double getCutoff() const { return cutoff; }
    double getLongCutoff() const { return longCutoff; }
    /** Ewald reciprocal-space cutoff (1/nm) of the model's Coulomb term; 0 for a cluster. */
    double getKmax() const { return kmax; }
    /** A metadata entry of the package (format, code_version, torch_version, dtype, ...). */
    std::string getMetadata(const std::string& key) const;
    bool usesPeriodicBoundaryConditions() const override { return periodic; }

protected:
    OpenMM::ForceImpl* createImpl() const override;

private:
    std::string packagePath;
    std::vector<int> particles;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::vector<int> atomicNumbers;
    double totalCharge, cutoff, longCutoff, kmax = 0;
    bool periodic;
};

}  // namespace elyte

#endif

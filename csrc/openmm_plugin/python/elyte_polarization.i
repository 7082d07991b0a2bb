// Python bindings of the elyte OpenMM plugin (SWIG, sharing the openmm module's type runtime).
%module elyte_polarization

%import(module="openmm") "swig/OpenMMSwigHeaders.i"
%include "swig/typemaps.i"

%{
#include <stdexcept>

#include "elyte/PolarizationForce.h"
#include "OpenMM.h"
#include "OpenMMAmoeba.h"
#include "OpenMMDrude.h"
#include "openmm/RPMDIntegrator.h"
#include "openmm/RPMDMonteCarloBarostat.h"
using OpenMM::Vec3;  // the openmm typemaps name Vec3 unqualified
%}

%exception {
    try {
        $action
    } catch (std::exception& e) {
        PyErr_SetString(PyExc_Exception, const_cast<char*>(e.what()));
        return NULL;
    }
}

namespace elyte {

class PolarizationForce : public OpenMM::Force {
public:
    enum NonbondedMethod { NoCutoff = 0, Ewald = 1, PME = 2 };
    enum PolarizationType { Mutual = 0, Extrapolated = 1 };
    PolarizationForce();
    int getNumParticles() const;
    int addParticle(double charge, double polarizability, double dampingVolume);
    %apply double& OUTPUT { double& charge, double& polarizability, double& dampingVolume };
    void getParticleParameters(int index, double& charge, double& polarizability, double& dampingVolume) const;
    %clear double& charge, double& polarizability, double& dampingVolume;
    void setParticleParameters(int index, double charge, double polarizability, double dampingVolume);
    int getNumExceptions() const;
    int addException(int particle1, int particle2, double chargeScale, double fieldScale, double dipoleScale);
    %apply int& OUTPUT { int& particle1, int& particle2 };
    %apply double& OUTPUT { double& chargeScale, double& fieldScale, double& dipoleScale };
    void getExceptionParameters(int index, int& particle1, int& particle2, double& chargeScale, double& fieldScale,
                                double& dipoleScale) const;
    %clear int& particle1, int& particle2, double& chargeScale, double& fieldScale, double& dipoleScale;
    void setExceptionParameters(int index, int particle1, int particle2, double chargeScale, double fieldScale,
                                double dipoleScale);
    double getTholeA() const;
    void setTholeA(double a);
    NonbondedMethod getNonbondedMethod() const;
    void setNonbondedMethod(NonbondedMethod m);
    double getCutoffDistance() const;
    void setCutoffDistance(double distance);
    double getEwaldErrorTolerance() const;
    void setEwaldErrorTolerance(double tolerance);
    PolarizationType getPolarizationType() const;
    void setPolarizationType(PolarizationType type);
    double getMutualInducedTolerance() const;
    void setMutualInducedTolerance(double tolerance);
    int getMutualInducedMaxIterations() const;
    void setMutualInducedMaxIterations(int iterations);
    bool getIncludeChargeChargeEnergy() const;
    void setIncludeChargeChargeEnergy(bool include);
    void getInducedDipoles(OpenMM::Context& context, std::vector<Vec3>& dipoles);
    void updateParametersInContext(OpenMM::Context& context);
    bool usesPeriodicBoundaryConditions() const;

    %extend {
        /** Coefficients c_0..c_n of extrapolated polarization, as a list of floats. */
        PyObject* getExtrapolationCoefficients() const {
            const std::vector<double>& c = self->getExtrapolationCoefficients();
            PyObject* list = PyList_New(c.size());
            for (size_t k = 0; k < c.size(); k++) PyList_SET_ITEM(list, k, PyFloat_FromDouble(c[k]));
            return list;
        }
        void setExtrapolationCoefficients(PyObject* values) {
            std::vector<double> c;
            PyObject* iterator = PyObject_GetIter(values);
            if (iterator == nullptr) throw std::invalid_argument("extrapolation coefficients: expected a sequence of numbers");
            while (PyObject* item = PyIter_Next(iterator)) {
                c.push_back(PyFloat_AsDouble(item));
                Py_DECREF(item);
            }
            Py_DECREF(iterator);
            if (PyErr_Occurred()) {
                PyErr_Clear();
                throw std::invalid_argument("extrapolation coefficients: expected a sequence of numbers");
            }
            self->setExtrapolationCoefficients(c);
        }
        /** The PolarizationForce behind a generic Force (e.g. one returned by System.getForce). */
        static elyte::PolarizationForce& cast(OpenMM::Force& force) {
            return dynamic_cast<elyte::PolarizationForce&>(force);
        }
        static bool isinstance(OpenMM::Force& force) {
            return dynamic_cast<elyte::PolarizationForce*>(&force) != nullptr;
        }
    }
};

}  // namespace elyte

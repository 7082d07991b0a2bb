// Python bindings of the elyte mlff plugin force (SWIG, sharing the openmm module's type runtime).
%module elyte_mlff

%import(module="openmm") "swig/OpenMMSwigHeaders.i"
%include "swig/typemaps.i"
%include "std_string.i"

%{
#include <stdexcept>

#include "elyte/MLFFForce.h"
#include "OpenMM.h"
#include "OpenMMAmoeba.h"
#include "OpenMMDrude.h"
#include "openmm/RPMDIntegrator.h"
#include "openmm/RPMDMonteCarloBarostat.h"
using OpenMM::Vec3;

template <typename T>
PyObject* elyteList(const std::vector<T>& values) {
    PyObject* list = PyList_New(values.size());
    for (size_t k = 0; k < values.size(); k++)
        PyList_SET_ITEM(list, k, std::is_integral<T>::value ? PyLong_FromLong(values[k]) : PyFloat_FromDouble(values[k]));
    return list;
}
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

class MLFFForce : public OpenMM::Force {
public:
    MLFFForce(const std::string& packagePath);
    const std::string& getPackagePath() const;
    int getNumAtoms() const;
    double getTotalCharge() const;
    double getCutoff() const;
    double getLongCutoff() const;
    double getKmax() const;
    std::string getMetadata(const std::string& key) const;
    bool usesPeriodicBoundaryConditions() const;

    %extend {
        /** System indices of the model's atoms, in the package's order. */
        PyObject* getParticles() const { return elyteList(self->getParticles()); }
        /** Set the System indices of the model's atoms (a sequence of ints, one per package atom). */
        void setParticles(PyObject* values) {
            std::vector<int> particles;
            PyObject* iterator = PyObject_GetIter(values);
            if (iterator == nullptr) throw std::invalid_argument("particles: expected a sequence of ints");
            while (PyObject* item = PyIter_Next(iterator)) {
                particles.push_back(static_cast<int>(PyLong_AsLong(item)));
                Py_DECREF(item);
            }
            Py_DECREF(iterator);
            if (PyErr_Occurred()) {
                PyErr_Clear();
                throw std::invalid_argument("particles: expected a sequence of ints");
            }
            self->setParticles(particles);
        }
        PyObject* getAtomicNumbers() const { return elyteList(self->getAtomicNumbers()); }
        /** The MLFFForce behind a generic Force (e.g. one returned by System.getForce). */
        static elyte::MLFFForce& cast(OpenMM::Force& force) { return dynamic_cast<elyte::MLFFForce&>(force); }
        static bool isinstance(OpenMM::Force& force) { return dynamic_cast<elyte::MLFFForce*>(&force) != nullptr; }
    }
};

}  // namespace elyte

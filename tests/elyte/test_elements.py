import numpy as np
import pytest

from elyte import elements


def test_lookup_by_symbol_and_number():
    assert elements.atomic_number("Li") == 3
    assert elements.atomic_number("cl") == 17
    assert elements.symbol(15) == "P"
    assert elements.mass("C") == pytest.approx(12.011, abs=1e-3)
    assert elements.mass(3) == pytest.approx(6.94, abs=0.01)
    assert elements.covalent_radius("H") == pytest.approx(0.31)
    assert elements.atomic_numbers(["O", "H", "H"]).tolist() == [8, 1, 1]
    assert np.allclose(elements.masses(["O", "H"]), [15.999, 1.008], atol=1e-3)


@pytest.mark.parametrize("bad", ["Xx", "X", "", 0, 200])
def test_unknown_element_names_the_problem(bad):
    with pytest.raises(elements.UnknownElementError):
        elements.atomic_number(bad)

"""Sampling: conformers, dimers, clusters, normal modes and torsion scans give sane geometries (no
clashes, intact molecules, the requested contact distances, harmonic Boltzmann statistics, the
scanned angles held)."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdMolTransforms

from elyte.io.structures import read_structure
from elyte.labels.engines import make_backend
from elyte.labels.esp import vdw_radius
from elyte.labels.sampling.binding import binding_sites, face_dimer, face_sites, outward_direction, site_dimer
from elyte.labels.sampling.clusters import cluster, clusters, trajectory_boxes
from elyte.labels.sampling.dimers import dimer
from elyte.labels.sampling.molecules import SamplingError, covalent_components, embed, molecule
from elyte.labels.sampling.normal_modes import displaced, hessian, modes
from elyte.labels.sampling.recipe import sample_binding_sites, sample_clusters, sample_conformers, sample_dimers
from elyte.labels.sampling.torsions import rotatable_dihedrals, torsion_scan
from elyte.labels.structure import QMStructure
from elyte.molecules import assign_species
from elyte.paths import data_dir
from elyte.units import kt_kcal

BOX = data_dir() / "structures" / "lipf6_ec_dmc_4116.data.gz"


def min_distance(positions: np.ndarray) -> float:
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    return float(d[np.triu_indices(len(positions), 1)].min())


@pytest.fixture(scope="module")
def xtb():
    pytest.importorskip("tblite")
    return make_backend({"name": "xtb"})


def test_relaxed_conformers_are_intact_and_distinct(xtb):
    found = sample_conformers(xtb, {"DME": "COCCOC"}, {"n_embed": 4, "keep": 3, "steps": 100}, seed=0)["DME"]
    assert 1 <= len(found) <= 3
    energies = [float(xtb.compute(s, ["energy"])["energy"]) for s in found]
    assert energies == sorted(energies) and len(set(np.round(energies, 2))) == len(energies)
    for s in found:
        assert len(set(covalent_components(s.numbers, s.positions))) == 1
        assert min_distance(s.positions) > 0.9


def test_dimer_contact_ratio_and_fragments():
    rng = np.random.default_rng(0)
    li, ec = embed("[Li+]", 1)[0], embed("O=C1OCCO1", 1)[0]
    for scale in (0.6, 1.0, 1.5):
        d = dimer(li, ec, scale, rng)
        radii = np.array([vdw_radius(z) for z in d.numbers])
        a, b = d.fragments == 0, d.fragments == 1
        dist = np.linalg.norm(d.positions[a][:, None] - d.positions[b][None], axis=-1)
        assert (dist / (radii[a][:, None] + radii[b][None])).min() == pytest.approx(scale, abs=1e-3)
        assert d.charge == 1 and d.fragment_charges == [1, 0]
        # the solvent is rigidly moved: its internal distances are unchanged
        internal = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)  # noqa: E731
        np.testing.assert_allclose(internal(d.positions[b]), internal(ec.positions), atol=1e-9)


def test_dimer_recipe_pairs_ions_with_solvents_and_optionally_solvents_with_each_other():
    lowest = {name: embed(smi, 1)[0] for name, smi in
              {"Li": "[Li+]", "PF6": "F[P-](F)(F)(F)(F)F", "EC": "O=C1OCCO1", "water": "O"}.items()}
    cfg = {"ions": ["Li", "PF6"], "solvents": ["EC", "water"], "per_pair": 2,
           "cation_scale": [0.6, 0.6], "anion_scale": [0.9, 0.9], "solvent_scale": [1.2, 1.2]}
    names = lambda found: sorted({d.provenance["name"] for d in found})  # noqa: E731
    plain = sample_dimers(lowest, cfg, np.random.default_rng(0))
    assert names(plain) == ["Li+EC", "Li+PF6", "Li+water", "PF6+EC", "PF6+water"] and len(plain) == 10
    both = sample_dimers(lowest, cfg | {"solvent_pairs": True}, np.random.default_rng(0))
    solvent = [d for d in both if d.fragment_charges == [0, 0]]
    assert names(solvent) == ["EC+EC", "EC+water", "water+water"] and len(solvent) == 6
    for d in solvent:
        radii = np.array([vdw_radius(z) for z in d.numbers])
        a, b = d.fragments == 0, d.fragments == 1
        dist = np.linalg.norm(d.positions[a][:, None] - d.positions[b][None], axis=-1)
        assert (dist / (radii[a][:, None] + radii[b][None])).min() == pytest.approx(1.2, abs=1e-3)


def test_binding_sites_are_the_symmetry_distinct_donor_atoms():
    ec, benzene = embed("O=C1OCCO1", 1)[0], embed("c1ccccc1", 1)[0]
    sites = binding_sites(ec)
    assert [int(ec.numbers[i]) for i in sites] == [8, 8]  # the carbonyl O and one of the two ring O
    assert len({int(ec.symmetry[i]) for i in sites}) == 2
    assert binding_sites(benzene) == []
    # a sulfoxide S has a lone pair, a sulfonyl S (four neighbours) none
    dmso, fsi = embed("CS(C)=O", 1)[0], embed("O=S(=O)(F)[N-]S(=O)(=O)F", 1)[0]
    assert sorted(int(dmso.numbers[i]) for i in binding_sites(dmso)) == [8, 16]
    assert sorted(int(fsi.numbers[i]) for i in binding_sites(fsi)) == [7, 8, 9]
    # the carbonyl O points away from its carbon, along the C=O bond
    axis = outward_direction(ec.positions, ec.numbers, 0)
    bond = ec.positions[0] - ec.positions[1]
    assert axis @ bond / np.linalg.norm(bond) == pytest.approx(1.0, abs=1e-9)


def test_site_dimer_puts_the_cation_on_the_site_within_the_cap():
    rng = np.random.default_rng(0)
    li, ec = embed("[Li+]", 1)[0], embed("O=C1OCCO1", 1)[0]
    internal = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)  # noqa: E731
    for site in binding_sites(ec):
        for _ in range(20):
            d = site_dimer(li, ec, site, (1.5, 3.0), 40.0, rng)
            solvent = d.positions[1:]
            dist = np.linalg.norm(solvent - d.positions[0], axis=1)
            assert np.argmin(dist) == site and 1.5 <= dist[site] <= 3.0
            assert dist[site] == pytest.approx(d.provenance["distance"])
            axis = outward_direction(solvent, ec.numbers, site)
            tilt = np.degrees(np.arccos(axis @ (d.positions[0] - solvent[site]) / dist[site]))
            assert tilt <= 40.0 + 1e-6
            np.testing.assert_allclose(internal(solvent), internal(ec.positions), atol=1e-9)
            assert d.charge == 1 and d.fragment_charges == [1, 0] and list(d.fragments[:2]) == [0, 1]
    with pytest.raises(ValueError, match="monatomic cation"):
        site_dimer(embed("F[P-](F)(F)(F)(F)F", 1)[0], ec, 0, (1.5, 3.0), 40.0, rng)


def test_faces_of_polyhedral_anions_are_their_cis_donor_triples():
    pf6 = embed("F[P-](F)(F)(F)(F)F", 1)[0]
    faces = face_sites(pf6)
    assert len(faces) == 1  # the eight faces of the octahedron are equivalent
    centre, face = faces[0]
    assert int(pf6.numbers[centre]) == 15 and all(int(pf6.numbers[k]) == 9 for k in face)
    bonds = pf6.positions[list(face)] - pf6.positions[centre]
    cosines = [float(bonds[a] @ bonds[b] / np.linalg.norm(bonds[a]) / np.linalg.norm(bonds[b]))
               for a, b in ((0, 1), (0, 2), (1, 2))]
    assert min(cosines) > -0.5  # cis neighbours (RDKit's octahedron is rough), no trans pair
    assert len(face_sites(embed("[O-]Cl(=O)(=O)=O", 1)[0])) == 1  # a tetrahedron's four faces are equivalent too
    assert face_sites(embed("O=C1OCCO1", 1)[0]) == []  # no centre with four bonded atoms
    assert len(face_sites(embed("O=S(=O)(F)[N-]S(=O)(=O)F", 1)[0])) >= 2  # sulfonyl O,O,N and O,O,F faces


def test_face_dimer_puts_the_cation_on_the_face_axis_at_the_drawn_distance():
    rng = np.random.default_rng(1)
    li, pf6 = embed("[Li+]", 1)[0], embed("F[P-](F)(F)(F)(F)F", 1)[0]
    ((centre, face),) = face_sites(pf6)
    for _ in range(20):
        d = face_dimer(li, pf6, centre, face, (1.3, 3.0), 10.0, rng)
        solvent = d.positions[1:]
        to_cation = d.positions[0] - solvent[centre]
        assert np.linalg.norm(to_cation) == pytest.approx(d.provenance["distance"]) and 1.3 <= d.provenance["distance"] <= 3.0
        axis = solvent[list(face)].mean(axis=0) - solvent[centre]
        tilt = np.degrees(np.arccos(axis @ to_cation / np.linalg.norm(axis) / np.linalg.norm(to_cation)))
        assert tilt <= 10.0 + 1e-6
        # the three face atoms are the cation's closest contacts (it sits over their triangle)
        closest = np.argsort(np.linalg.norm(solvent - d.positions[0], axis=1))[:3]
        assert set(closest.tolist()) == set(face)
        assert d.charge == 0 and d.fragment_charges == [1, -1] and d.provenance["face"] == list(face)


def test_binding_site_recipe_covers_every_cation_solvent_site():
    lowest = {name: embed(smi, 1)[0] for name, smi in
              {"Li": "[Li+]", "Na": "[Na+]", "EC": "O=C1OCCO1", "water": "O", "benzene": "c1ccccc1"}.items()}
    cfg = {"cations": ["Li", "Na"], "solvents": ["EC", "water", "benzene"], "per_site": 3, "tilt_deg": 30.0,
           "distance": {"Li": [1.5, 2.5], "Na": [2.0, 3.0]}}
    found = sample_binding_sites(lowest, cfg, np.random.default_rng(0))
    counts = {n: sum(d.provenance["name"] == n for d in found) for n in ("Li+EC", "Li+water", "Na+EC", "Na+water")}
    assert counts == {"Li+EC": 6, "Li+water": 3, "Na+EC": 6, "Na+water": 3} and len(found) == 18
    for d in found:
        lo, hi = cfg["distance"][d.provenance["partners"][0]]
        assert lo <= d.provenance["distance"] <= hi
    with pytest.raises(SamplingError, match="no range"):
        sample_binding_sites(lowest, cfg | {"distance": {"Li": [1.5, 2.5]}}, np.random.default_rng(0))
    lowest["PF6"] = embed("F[P-](F)(F)(F)(F)F", 1)[0]
    with_faces = cfg | {"solvents": ["PF6"], "faces": {"Li": [1.3, 3.0], "Na": [1.6, 3.4]}}
    found = sample_binding_sites(lowest, with_faces, np.random.default_rng(0))
    on_faces = [d for d in found if "face" in d.provenance]
    assert len(on_faces) == 6 and len(found) == 12  # the F vertex sites and the face, 3 each per cation
    with pytest.raises(SamplingError, match="faces has no range"):
        sample_binding_sites(lowest, with_faces | {"faces": {"Li": [1.3, 3.0]}}, np.random.default_rng(0))
    with pytest.raises(SamplingError, match="not in the recipe"):
        sample_binding_sites(lowest, cfg | {"solvents": ["DMC"]}, np.random.default_rng(0))


def test_clusters_are_whole_molecules_with_integer_charges():
    box = read_structure(BOX)
    rng = np.random.default_rng(0)
    for s in clusters(box, "Li", 2.6, 3, rng, max_molecules=6) + clusters(box, "P", 4.6, 2, rng, 6):
        components = covalent_components(s.numbers, s.positions)
        # each fragment is one connected molecule, and no two fragments are bonded to each other
        for k in range(s.fragments.max() + 1):
            assert len(set(components[s.fragments == k])) == 1
        assert len(set(components)) == s.fragments.max() + 1
        assert min_distance(s.positions) > 0.8
        assert s.charge == sum(s.fragment_charges) and s.charge in (-1, 0, 1)
        assert s.fragments.max() + 1 <= 6


def test_cluster_needs_a_periodic_box_with_molecules():
    box = read_structure(BOX)
    box.pbc = False
    with pytest.raises(SamplingError, match="periodic"):
        cluster(box, 0, 3.0)
    with pytest.raises(SamplingError, match="no Na"):
        clusters(read_structure(BOX), "Na", 3.0, 1, np.random.default_rng(0))


ELECTROLYTE = {"EC": "O=C1OCCO1", "DMC": "COC(=O)OC", "Li": "[Li+]", "PF6": "F[P-](F)(F)(F)(F)F"}


@pytest.fixture(scope="module")
def box_trajectory(tmp_path_factory):
    """The shipped box as a 3-frame DCD (frame k rigidly shifted by k x 7 A, wrapped into the cell) with
    the PDB topology polff-simulate would write; returns (topology, dcd, molecule-ordered box)."""
    import openmm.app as app
    import openmm.unit as u

    from elyte.formulation import Species
    from elyte.md.topology import build_topology

    box = read_structure(BOX)
    order, molecules = assign_species(box, [Species.from_smiles(n, s) for n, s in ELECTROLYTE.items()])
    box = box[order]
    topology = build_topology(molecules, box.cell[:])
    folder = tmp_path_factory.mktemp("traj")
    with open(folder / "topology.pdb", "w") as f:
        app.PDBFile.writeFile(topology, box.positions, f)
    with open(folder / "traj.dcd", "wb") as f:
        dcd = app.DCDFile(f, topology, 0.001 * u.picosecond)
        for k in range(3):
            shifted = box.copy()
            shifted.positions += k * 7.0
            shifted.wrap()
            dcd.writeModel(shifted.positions * u.angstrom, periodicBoxVectors=box.cell[:] * u.angstrom)
    return folder / "topology.pdb", folder / "traj.dcd", box


def test_trajectory_frames_give_the_same_clusters_as_the_box(box_trajectory):
    topology, dcd, box = box_trajectory
    charges = {"EC": 0, "DMC": 0, "LI": 1, "PF6": -1}
    frames = trajectory_boxes(str(topology), [str(dcd.parent / "*.dcd")], 2, charges)
    assert len(frames) == 2  # the first and the last of 3
    center = int(np.nonzero(box.numbers == 3)[0][0])
    reference = cluster(box, center, 2.6, 6)
    for frame in frames:
        assert np.allclose(frame.cell[:], box.cell[:], atol=1e-3)
        assert frame.arrays["initial_charges"].sum() == 0
        got = cluster(frame, center, 2.6, 6)  # wrapping moved atoms, not the cluster around the centre
        assert np.array_equal(got.numbers, reference.numbers) and got.charge == reference.charge == 1
        assert np.allclose(got.positions, reference.positions, atol=1e-3)


def test_trajectory_clusters_from_a_recipe_and_unknown_residues(box_trajectory):
    topology, dcd, _ = box_trajectory
    cfg = {"trajectory": {"topology": str(topology), "files": [str(dcd)], "frames": 3},
           "centers": {"Li": 2.6, "P": 4.6}, "n": 2, "max_molecules": 6}
    found = sample_clusters(cfg, ELECTROLYTE, np.random.default_rng(0))
    assert len(found) == 3 * 2 * 2
    assert sorted({s.provenance["frame"] for s in found}) == [0, 1, 2]
    assert len({s.provenance["group"] for s in found}) == 3  # one split group per frame
    assert {s.charge for s in found if s.provenance["name"] == "P-shell"} <= {-1, 0}
    with pytest.raises(SamplingError, match="PF6.*add them under species"):
        sample_clusters(cfg, {k: v for k, v in ELECTROLYTE.items() if k != "PF6"}, np.random.default_rng(0))
    with pytest.raises(SamplingError, match="no trajectory file"):
        trajectory_boxes(str(topology), [str(dcd.parent / "none*.dcd")], 2, {})


def test_harmonic_sampling_has_equipartition():
    """On a synthetic Hessian the sampled harmonic energy is (K/2) kT per structure, on average."""
    rng = np.random.default_rng(0)
    s = QMStructure([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    a = rng.normal(size=(9, 9))
    h = a @ a.T * 50.0 + 300.0 * np.eye(9)  # positive definite, kcal/mol/A^2: all 9 modes are vibrations
    values, _ = modes(h, s.numbers)
    assert len(values) == 9
    samples = displaced(s, h, 300.0, 4000, rng)
    x = np.array([(t.positions - s.positions).ravel() for t in samples])
    energy = 0.5 * np.einsum("ni,ij,nj->n", x, h, x)
    assert energy.mean() == pytest.approx(4.5 * kt_kcal(300.0), rel=0.05)


def test_xtb_hessian_modes_of_water(xtb):
    from elyte.labels.sampling.relax import relax

    water = relax(xtb, QMStructure([8, 1, 1], [[0, 0, 0.1], [0.77, 0, -0.45], [-0.76, 0.02, -0.46]]), fmax=0.05)
    h = hessian(xtb, water)
    np.testing.assert_allclose(h, h.T, atol=1e-8)
    values, _ = modes(h, water.numbers)
    assert len(values) == 3  # three vibrations; translations and rotations are near zero and dropped
    samples = displaced(water, h, 300.0, 5, np.random.default_rng(0))
    for t in samples:
        assert len(set(covalent_components(t.numbers, t.positions))) == 1
        assert 0 < np.abs(t.positions - water.positions).max() < 0.3


def test_rotatable_dihedrals_of_known_molecules():
    assert rotatable_dihedrals(molecule("CCCC")) == [(0, 1, 2, 3)]
    assert len(rotatable_dihedrals(molecule("COC(=O)OC"))) == 2  # DMC: both O-C(=O) bonds
    assert rotatable_dihedrals(molecule("O=C1OCCO1")) == []  # EC: ring bonds only
    assert rotatable_dihedrals(molecule("CCO")) == []  # the O has no other heavy neighbour
    assert len(rotatable_dihedrals(molecule("CCCCCC"), limit=2)) == 2


def test_butane_scan_holds_the_angles_and_has_its_known_shape(xtb):
    """Relaxed GFN2-xTB scan of butane's C-C-C-C dihedral: each point holds its angle while the rest
    relaxes; anti (180) is the minimum, gauche (60) a few tenths of a kcal/mol above it, syn (0)
    the highest (a few kcal/mol)."""
    mol = molecule("CCCC")
    start = sample_conformers(xtb, {"butane": "CCCC"}, {"n_embed": 1, "keep": 1, "steps": 100}, seed=0)["butane"][0]
    scan = torsion_scan(xtb, mol, start, (0, 1, 2, 3), [180.0, 60.0, 0.0], fmax=0.5)
    conformer = Chem.Conformer(mol.GetNumAtoms())
    for s, angle in zip(scan, (180.0, 60.0, 0.0)):
        for k, xyz in enumerate(s.positions):
            conformer.SetAtomPosition(k, xyz.tolist())
        measured = rdMolTransforms.GetDihedralDeg(conformer, 0, 1, 2, 3)
        assert abs((measured - angle + 180.0) % 360.0 - 180.0) < 0.5
        assert s.provenance["kind"] == "torsion_scan" and s.provenance["angle"] == angle
        assert len(set(covalent_components(s.numbers, s.positions))) == 1
    anti, gauche, syn = (float(xtb.compute(s, ["energy"])["energy"]) for s in scan)
    assert 0.1 < gauche - anti < 1.5
    assert syn - anti > 2.5

#!/usr/bin/env bash
# Reproduces the shipped models from the shipped QM data (after scripts/setup.sh with ELYTE_EXTRAS=qm).
# CPU times measured on 2 cores; every step resumes if interrupted (re-run the same command).
#   1. DFT (wB97X-D4/def2-SVPD) ESP charges, Hirshfeld volumes and dftd4 properties of the conformers of
#      data/qm/electrolyte_v1_gfn2.h5.gz -> data/qm/electrolyte_v1_wb97x_conformers.h5.gz   (~25 min)
#   2. the polff GNN parameterizer ensemble (3 members trained side by side, 1 thread each)
#      -> data/models/polff_gnn_v2/member_<k>.pt                                            (~30 min)
#   3. the gas-phase mlff model v2 -> runs/default_models/mlff_electrolyte_v2/model.pt (~16 min, 2 threads)
#   4. liquid MD (ByteFF-Pol on the 4,116-atom box; the v2 model on a 354-atom box) and GFN2-xTB labels
#      of solvation shells cut from it -> data/qm/electrolyte_md_v1_gfn2.h5.gz                 (~20 min)
#   5. mlff v3: v2 fine-tuned on both stores -> runs/default_models/mlff_electrolyte_v3/model.pt (~16 min)
#   6. liquid MD with v3 (354-atom box: NVT 298 and 400 K, and an NPT run that the bond check stops) and
#      GFN2-xTB labels of shells cut from it -> data/qm/electrolyte_md_v2_gfn2.h5.gz          (~50 min)
#   7. mlff v4: v3 fine-tuned on the three stores -> runs/default_models/mlff_electrolyte_v4/model.pt (~13 min)
#   8. the shipped mlff model: v4 fine-tuned on the three stores and the solvent dimers with the
#      interaction-energy loss -> data/models/mlff_electrolyte_v6.pt                        (~20 min)
# Steps 3, 5, 7 and 8 pin data.split.order=shuffle, the split order these models were trained with.
# Pass step numbers to run only some, e.g. `bash scripts/train_default_models.sh 2 3`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RUNS=runs/default_models
steps=${*:-1 2 3 4 5 6 7 8}
mkdir -p "$RUNS" data/models/polff_gnn_v2

label_shells() {  # GFN2-xTB labels of the clusters of recipe $1 -> data/qm/$1_gfn2.h5.gz
  OMP_NUM_THREADS=1 $BIN/elyte-label recipe="$1" store="$RUNS/$1_gfn2.h5" workers=2 \
    'requests=[energy,forces,dipole,charges_mulliken,dftd4,interaction_energy]' \
    hydra.run.dir="$RUNS/label_${1#electrolyte_}"
  gzip -9 -n -c "$RUNS/$1_gfn2.h5" > "data/qm/$1_gfn2.h5.gz"
}

fine_tune() {  # fine_tune <parent run> <run> <epochs> <stores, comma-separated> [overrides]: <run> from <parent>
  OMP_NUM_THREADS=2 $BIN/mlff-train init_from="$RUNS/$1/model.pt" data.kind=label_store "data.paths=[$4]" \
    train.epochs="$3" train.lr=3e-4 train.warmup_steps=50 data.split.order=shuffle hydra.run.dir="$RUNS/$2" "${@:5}"
}

for step in $steps; do case $step in
1)
  OMP_NUM_THREADS=2 $BIN/elyte-label backend=dft stores=[data/qm/electrolyte_v1_gfn2.h5.gz] 'kinds=[conformer]' \
    'requests=[energy,forces,dipole,charges_esp,charges_hirshfeld,dftd4]' threads=2 \
    store=$RUNS/electrolyte_v1_wb97x_conformers.h5 hydra.run.dir=$RUNS/label_dft
  gzip -9 -n -c $RUNS/electrolyte_v1_wb97x_conformers.h5 > data/qm/electrolyte_v1_wb97x_conformers.h5.gz ;;
2)
  # the four stores of data/qm/ that existed when v2 was trained (torsions_v1 came later) plus
  # ../shared/data/qm_monomer_100; member k is seed k
  stores=data/qm/electrolyte_v1_gfn2.h5.gz,data/qm/electrolyte_v1_gfn2_hessians.h5.gz
  stores=$stores,data/qm/electrolyte_v1_wb97x_conformers.h5.gz,data/qm/solvent_dimers_v1_gfn2.h5.gz
  pids=()
  for k in 0 1 2; do
    OMP_NUM_THREADS=1 $BIN/polff-train data.data_qm=false "data.stores=[$stores]" 'train.keep_in_training=[Li,Na]' \
      train.epochs=20 train.patience=20 loss.alpha=10 train.seed=$k hydra.run.dir=$RUNS/polff_gnn_v2_m$k \
      > $RUNS/polff_gnn_v2_m$k.out 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done  # fails if a member failed (see its .out)
  for k in 0 1 2; do cp $RUNS/polff_gnn_v2_m$k/model.pt data/models/polff_gnn_v2/member_$k.pt; done ;;
3)
  OMP_NUM_THREADS=2 $BIN/mlff-train data.kind=label_store 'data.paths=[data/qm/electrolyte_v1_gfn2.h5.gz]' \
    model.features=64 model.layers=2 model.lmax=1 train.epochs=60 data.split.order=shuffle \
    hydra.run.dir=$RUNS/mlff_electrolyte_v2 ;;
4)
  # the trajectories configs/label/recipe/electrolyte_md_v1.yaml cuts its clusters from
  OMP_NUM_THREADS=1 $BIN/polff-simulate ensemble=nvt steps=6000 trajectory_every=300 segment_steps=3000 \
    minimize_steps=200 threads=1 hydra.run.dir=$RUNS/md_byteff_298
  $BIN/elyte-build-box formulation=lipf6_ec_dmc formulation.size=360 seed=3 hydra.run.dir=$RUNS/box_354
  OMP_NUM_THREADS=1 $BIN/mlff-simulate structure=$RUNS/box_354/box.extxyz forcefield.model=$RUNS/mlff_electrolyte_v2/model.pt \
    forcefield.dtype=float32 ensemble=nvt steps=800 friction=5.0 trajectory_every=40 segment_steps=400 \
    minimize_steps=300 threads=1 hydra.run.dir=$RUNS/md_mlff_v2_354
  label_shells electrolyte_md_v1 ;;
5)
  fine_tune mlff_electrolyte_v2 mlff_electrolyte_v3 40 data/qm/electrolyte_v1_gfn2.h5.gz,data/qm/electrolyte_md_v1_gfn2.h5.gz ;;
6)
  # the trajectories configs/label/recipe/electrolyte_md_v2.yaml cuts its clusters from
  v3="structure=$RUNS/box_354/box.extxyz forcefield.model=$RUNS/mlff_electrolyte_v3/model.pt forcefield.dtype=float32"
  v3="$v3 minimize_steps=300 threads=1"
  OMP_NUM_THREADS=1 $BIN/mlff-simulate $v3 ensemble=nvt temperature=400 steps=3000 friction=5.0 trajectory_every=50 \
    segment_steps=500 hydra.run.dir=$RUNS/md_mlff_v3_354_400K
  OMP_NUM_THREADS=1 $BIN/mlff-simulate $v3 ensemble=nvt steps=800 friction=5.0 trajectory_every=40 segment_steps=400 \
    hydra.run.dir=$RUNS/md_mlff_v3_354
  # v3 sheds a fluoride from PF6- in this run: the bond check stops it (exit 1), its frames so far are kept
  OMP_NUM_THREADS=1 $BIN/mlff-simulate $v3 ensemble=npt steps=5000 friction=1.0 trajectory_every=250 \
    segment_steps=2500 hydra.run.dir=$RUNS/npt_mlff_v3_354 || echo "step 6: the v3 NPT run stopped early (expected)"
  label_shells electrolyte_md_v2 ;;
7)
  fine_tune mlff_electrolyte_v3 mlff_electrolyte_v4 25 \
    data/qm/electrolyte_v1_gfn2.h5.gz,data/qm/electrolyte_md_v1_gfn2.h5.gz,data/qm/electrolyte_md_v2_gfn2.h5.gz ;;
8)
  fine_tune mlff_electrolyte_v4 mlff_electrolyte_v6 10 \
    data/qm/electrolyte_v1_gfn2.h5.gz,data/qm/electrolyte_md_v1_gfn2.h5.gz,data/qm/electrolyte_md_v2_gfn2.h5.gz,data/qm/solvent_dimers_v1_gfn2.h5.gz \
    loss.interaction_energy=0.1
  cp $RUNS/mlff_electrolyte_v6/model.pt data/models/mlff_electrolyte_v6.pt ;;
*) echo "unknown step $step (1: DFT labels, 2: polff GNN, 3-8: mlff)" >&2; exit 2 ;;
esac; done

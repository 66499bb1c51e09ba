#!/bin/bash
# Pre-registration 2: the border-overhang run's candidate (v7's rule: the average of snapshots 500-2,000), calibrated
# on the development sets, then measured once on coco128 split 1, droplets and synthetic.
set -ex
D=${1:-runs/s15/v10}
cd /work/main
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
PY=.venv/bin/python
SNAPS=$(ls $D/train/snapshots/step-*.weights.h5 | awk -F'step-' '{split($2,a,"."); if (a[1]+0 >= 500) print}')
$PY -m model average --checkpoints $SNAPS --out $D/swa.weights.h5 --version mobile-coco128-v10-swa
$PY -m model calibrate --checkpoint $D/swa.weights.h5 --on runs/synth-dev/annotations.json coco all \
  --on ../shared/data/coco128-seg yolo-seg split-2 --version mobile-coco128-v10 --out $D/cal.weights.h5
COCO="--data ../shared/data/coco128-seg --format yolo-seg --split 1 --classes held-out --seeds 2"
DROP="--data ../shared/data/droplets/annotations.json --images-dir ../shared/data/droplets/images --format coco --classes all --seeds 1"
SYN="--data runs/synth-dev/annotations.json --format coco --classes all --seeds 1"
$PY -m model effort --checkpoint $D/cal.weights.h5 $SYN --json $D/syn.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal.weights.h5 $COCO --json $D/coco.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal.weights.h5 $DROP --json $D/drop.json 2>/dev/null

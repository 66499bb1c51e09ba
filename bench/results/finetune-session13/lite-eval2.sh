#!/bin/bash
# After the lite1 run: average snapshots >= 400, calibrate, measure. Logs to runs/s13/lite/eval.log
set -x
cd /work/main
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
PY=.venv/bin/python
D=runs/s13/lite
SNAPS=$(ls $D/train2/snapshots/step-*.weights.h5 | awk -F'step-' '{split($2,a,"."); if (a[1]+0 >= 1600) print}')
$PY -m model average --checkpoints $SNAPS --out $D/swa2.weights.h5 --version lite1-v7heads-swa2
$PY -m model calibrate --checkpoint $D/swa2.weights.h5 --on runs/synth-dev/annotations.json coco all \
  --on ../shared/data/coco128-seg yolo-seg split-2 --version lite1-coco128-s13b --out $D/cal2.weights.h5
COCO="--data ../shared/data/coco128-seg --format yolo-seg --split 1 --classes held-out --seeds 2"
DROP="--data ../shared/data/droplets/annotations.json --images-dir ../shared/data/droplets/images --format coco --classes all --seeds 1"
SYN="--data runs/synth-dev/annotations.json --format coco --classes all --seeds 1"
$PY -m model effort --checkpoint $D/cal2.weights.h5 $COCO --json $D/coco2.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal2.weights.h5 $DROP --json $D/drop2.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal2.weights.h5 $SYN --json $D/syn2.json 2>/dev/null

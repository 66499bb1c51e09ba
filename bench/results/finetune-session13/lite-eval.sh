#!/bin/bash
# A lite1 run's candidate: the average of its snapshots from MIN_STEP on, calibrated on the development sets, measured
# on coco128 split 1, droplets and synthetic. Both runs of session 13 were measured with it:
#   lite-eval.sh train 400 ""    steps 400-1,200: swa, cal, coco.json ...; version lite1-coco128-s13
#   lite-eval.sh train2 1600 2   steps 1,600-2,400: swa2, cal2, coco2.json ...; version lite1-coco128-s13b
# and session 14's third leg (its run directory and version given):
#   lite-eval.sh train3 3800 3 runs/s14/lite lite1-coco128-s14   (steps 3,800-4,800)
set -x
TRAIN=$1 MIN_STEP=$2 TAG=$3
D=${4:-runs/s13/lite}
SUFFIX=${TAG:+b}
VERSION=${5:-lite1-coco128-s13$SUFFIX}
cd /work/main
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=.
PY=.venv/bin/python
SNAPS=$(ls $D/$TRAIN/snapshots/step-*.weights.h5 | awk -F'step-' -v min="$MIN_STEP" '{split($2,a,"."); if (a[1]+0 >= min) print}')
$PY -m model average --checkpoints $SNAPS --out $D/swa$TAG.weights.h5 --version lite1-v7heads-swa$TAG
$PY -m model calibrate --checkpoint $D/swa$TAG.weights.h5 --on runs/synth-dev/annotations.json coco all \
  --on ../shared/data/coco128-seg yolo-seg split-2 --version $VERSION --out $D/cal$TAG.weights.h5
COCO="--data ../shared/data/coco128-seg --format yolo-seg --split 1 --classes held-out --seeds 2"
DROP="--data ../shared/data/droplets/annotations.json --images-dir ../shared/data/droplets/images --format coco --classes all --seeds 1"
SYN="--data runs/synth-dev/annotations.json --format coco --classes all --seeds 1"
$PY -m model effort --checkpoint $D/cal$TAG.weights.h5 $COCO --json $D/coco$TAG.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal$TAG.weights.h5 $DROP --json $D/drop$TAG.json 2>/dev/null
$PY -m model effort --checkpoint $D/cal$TAG.weights.h5 $SYN --json $D/syn$TAG.json 2>/dev/null

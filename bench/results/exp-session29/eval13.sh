cd /work/main
export TF_CPP_MIN_LOG_LEVEL=3
CK=runs/s29/v13/mobile-coco128.weights.h5
T=0.6,0.5,0.55,0.65,0.7,0.75
P=/work/main/.venv/bin/python
$P -m model effort --checkpoint $CK --data ../shared/data/droplets/annotations.json --format coco --images-dir ../shared/data/droplets/images --classes all --seeds 1 --threshold $T --json runs/s29/v13-droplets.json > runs/s29/v13-droplets.txt 2>runs/s29/v13-droplets.err
$P -m model effort --checkpoint $CK --data runs/synth-dev/annotations.json --format coco --classes all --seeds 1 --threshold $T --json runs/s29/v13-synthetic.json > runs/s29/v13-synthetic.txt 2>runs/s29/v13-synthetic.err
$P -m model effort --checkpoint $CK --data ../shared/data/coco128-seg --format yolo-seg --split 1 --classes held-out --seeds 2 --threshold $T --json runs/s29/v13-split1.json > runs/s29/v13-split1.txt 2>runs/s29/v13-split1.err
echo done $(date -u +%H:%M)

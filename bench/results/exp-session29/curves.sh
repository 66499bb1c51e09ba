cd /work/main
export TF_CPP_MIN_LOG_LEVEL=3
P=/work/main/.venv/bin/python
$P -m bench.effort_curve --datasets sessions --ks 0,1,2,5,10 --time-budget-s 900 --out runs/s29/curve-sessions > runs/s29/curve-sessions.log 2>&1 &
$P -m bench.effort_curve --datasets droplets --ks 0,5,10 --time-budget-s 900 --out runs/s29/curve-droplets > runs/s29/curve-droplets.log 2>&1 &
wait
echo done $(date -u +%H:%M)

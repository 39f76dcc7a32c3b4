#!/usr/bin/env bash
# One-shot training session on a lent GPU machine (see checkpoints/*/README.md for how it was used).
# Fonts travel as subsets in .gpu/ (found through GLYPH_FONT_DIRS); the dataset is rendered there.
# Phase 1 runs every variant concurrently for PROBE steps (lr is constant then, so this prefix is
# identical to any longer run), measures the slowest rate, and phase 2 resumes every variant to the
# same total step count N that fits TRAIN_S seconds: the ablation gets exactly the same budget.
set -u
TRAIN_S=${1:-360}
PROBE=${PROBE:-300}
export PYTHONUNBUFFERED=1 GLYPH_FONT_DIRS=$PWD/.gpu
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
DS=${DS:-.gpucache/ds128}; RUNS=${RUNS:-.gpucache/runs}; EXTRA=${EXTRA:-}
nvidia-smi --query-gpu=name,memory.total --format=csv
python3 -c "import torch, PIL; print('torch', torch.__version__, 'PIL', PIL.__version__)"
[ -f $DS/meta.json ] || python3 -m unet.data --out $DS --workers 16 2>&1 | tail -n 12
declare -A VARIANTS=(
  [main]="--attention 32,16"
  [noattn]="--attention none"
  [attn64]="--attention 64,32,16"
  [aug]="--attention 32,16 --augment 0.04"
  [lowgan]="--attention 32,16 --gan-weight 0.25"
)
mkdir -p $RUNS
COMMON="$EXTRA --data $DS --batch-size 64 --sample-every 2000 --log-every 100 --ckpt-minutes 3 --no-progress"
t0=$(date +%s)
for v in "${!VARIANTS[@]}"; do
  python3 -m unet.train $COMMON --out $RUNS/$v ${VARIANTS[$v]} --steps 1000000 --stop-after $PROBE > $RUNS.$v.log 2>&1 &
done
wait
t1=$(date +%s)
N=$(python3 - "$PROBE" "$TRAIN_S" $RUNS/*/log.jsonl <<'PY'
import json, sys
probe, budget = int(sys.argv[1]), float(sys.argv[2])
took = max(json.loads(l)["wall_s"] for f in sys.argv[3:] for l in open(f) if '"done"' in l)
print(f"slowest variant: {probe} steps in {took:.1f} s", file=sys.stderr)
print(max(probe + 100, int(probe + probe / took * budget) // 100 * 100))
PY
)
echo "total steps N=$N"
for v in "${!VARIANTS[@]}"; do
  python3 -m unet.train $COMMON --out $RUNS/$v ${VARIANTS[$v]} --steps $N --resume \
    --time-limit $(( (TRAIN_S + 90) / 60 )) >> $RUNS.$v.log 2>&1 &
done
wait
echo "training took $(( $(date +%s) - t1 )) s"
for v in "${!VARIANTS[@]}"; do
  python3 -m unet.evaluate --checkpoint $RUNS/$v/generator --data $DS --out $RUNS/$v/eval > $RUNS/$v/eval.txt 2>&1 &
done
wait
for v in "${!VARIANTS[@]}"; do echo "== $v"; cat $RUNS/$v/eval.txt; tail -n 3 $RUNS/$v/log.jsonl; done
python3 tools/pack_best.py $RUNS "$OUT"
tar czf "$OUT/runs.tgz" --exclude='state.pt' --exclude='*.safetensors' $RUNS $RUNS.*.log
ls -la "$OUT"

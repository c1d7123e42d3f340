#!/bin/sh
# The embedded default model (models/smollm2-135m-instruct-fdb.dbllm, models/NOTICE.md): the better of the
# experiment's two g64 distillations (bench/distill/run.py, KD or DAD by held-out perplexity), trained further
# with the same loss (KD: γ = 0, DAD: γ = 1) on the experiment's sampled data plus the 1990s State of the Union addresses (real text from another
# domain than the held-out Moby Dick, so the held-out perplexity does not profit from training on the same book).
#   sh bench/distill/default-model.sh kd|dad [steps]
# Needs the experiment's work directory (bench/.work/distill: the checkpoint, the activation-aware init, the data).
set -eu
cd "$(dirname "$0")/../.."
FROM=${1:?usage: default-model.sh kd|dad [steps]}
STEPS=${2:-40}
case "$FROM" in kd) GAMMA=0 ;; dad) GAMMA=1 ;; *) echo "default-model.sh: kd or dad, not $FROM" >&2; exit 2 ;; esac
W=bench/.work/distill
TEACHER=$(node --import tsx -e "import('./scripts/assets.ts').then(m => console.log(m.smolLM2Path()))" | tail -n 1)
node --import tsx -e "import('./bench/lib/texts.ts').then(m => require('node:fs').writeFileSync('$W/sotu-1990s.txt', m.calibrationText()))"
export PYTHONPATH="python:.cache/pylib-train"
/usr/bin/python3 -m dbllm_train distill --teacher "$TEACHER" -o "$W/default.dbllm" --group-size 64 --gamma "$GAMMA" \
  --init-from "$W/fdb-calib-g64.dbllm" --init-state "$W/$FROM-g64.work/checkpoint.pt" \
  --samples 200 --sample-batch 64 --seq-len 256 --text "$W/sotu-1990s.txt" \
  --steps "$STEPS" --batch-size 4 --lr 1e-4 --lr-alpha 2e-4 --warmup 5 --threads 1 \
  --workdir "$W/default.work" --cache "$W/cache" --summary "$W/default.summary.json" --checkpoint-every 10 --log-every 5 \
  ${RESUME:+--resume}
node --import tsx bench/distill/ppl.ts "$W/default.dbllm" "$W/moby-heldout-10.txt" --ctx 512 --kernel lut-exact --max-tokens 8192 \
  | tail -n 1 > "$W/default.ppl.json"
cat "$W/default.ppl.json"

#!/usr/bin/env bash
# Issue 10's checks on a lent GPU, in one go (~6-9 min, trackers off). Every step is guarded and its
# output lands under $OUT as it goes, so a timeout still leaves partial results.
#
# Build the bundle (needs the package index; ~1 min, 53 MB) inside the checkout the device tool copies, as an
# untracked folder (ray, optuna, smp, monai, hydra and pydantic are NOT on the GPU image; torch/lightning are):
#   cd /work/main && /work/shared/offline-bundle.sh gpu-bundle && rm -rf gpu-bundle/proj
# Run there from the project root (the device tool sets $OUT; elsewhere ./gpu-out is used), timeout ~560 s:
#   bash experiments/benchmarks/gpu_checks.sh gpu-bundle
# Steps: install the bundle (pip --no-index --target) -> nvidia-smi + versions -> P6 (unet space, 256 px,
# 8 trials x 10 epochs, bf16, 1 per GPU vs resources: auto; nvidia-smi every 0.5 s) -> GPU path checks
# (gpu_checks.py: precision auto, data on the device and the host path, channels_last, deterministic on/off,
# torch.compile warm-up, packing estimate vs measured peak) -> dry run of the unet space (packing estimate).
set -u
bundle=${1:-bundle}
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out"
exec > >(tee -a "$out/gpu_checks.log") 2>&1
echo "== start $(date -u +%T)"
root=$PWD
[ -d "$root/rudratune" ] || root=$bundle/proj
site=/tmp/rt-site
if [ -d "$bundle/whl" ]; then
  timeout 120 python3 -m pip install -q --no-index --no-deps --target "$site" "$bundle"/whl/*.whl \
    || echo "== bundle install failed (rc $?); going on with what is installed"
fi
export PYTHONPATH="$site:$root" RAY_TMPDIR=/tmp/rt-ray HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0 \
  RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 WANDB_MODE=disabled MLFLOW_DISABLE_TELEMETRY=true PYTHONWARNINGS=ignore
mkdir -p "$RAY_TMPDIR"
cd "$root" || exit 1
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "== nvidia-smi failed"
timeout 60 python3 -c "import torch, lightning, ray, optuna, segmentation_models_pytorch as smp, monai, rudratune; \
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'lightning', lightning.__version__, \
'ray', ray.__version__, 'optuna', optuna.__version__, 'smp', smp.__version__)" > "$out/versions.txt" 2>&1
cat "$out/versions.txt"

echo "== P6 $(date -u +%T)"
rm -rf /tmp/rt-p6  # a warm machine keeps the last try's sweeps, whose names would be taken
timeout 210 python3 experiments/benchmarks/run.py --only P6 --out "$out/BENCHMARKS-P6.md" --output-root /tmp/rt-p6 \
  || echo "== P6 ended with rc $?"
mkdir -p "$out/p6-logs" && cp /tmp/rt-p6/logs/* "$out/p6-logs/" 2>/dev/null
for d in /tmp/rt-p6/p6-*; do [ -f "$d/results.csv" ] && cp "$d/results.csv" "$out/p6-logs/$(basename "$d")-results.csv"; done

echo "== GPU path checks $(date -u +%T)"
timeout 100 python3 experiments/benchmarks/gpu_checks.py "$out" || echo "== gpu_checks.py ended with rc $?"

echo "== dry run $(date -u +%T)"
timeout 30 python3 -m rudratune --output-root /tmp/rt-dry run search_spaces/unet.yaml --dry-run \
  tracking.mlflow=false tracking.wandb=false trainer.precision=auto > "$out/dry-run.txt" 2>&1 \
  || echo "== dry run ended with rc $?"
cat "$out/dry-run.txt"
echo "== end $(date -u +%T)"

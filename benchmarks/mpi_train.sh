#!/usr/bin/env bash
# The training figures of README's "Over Open MPI ranks": the CIFAR MLP (3072-1024-512-10)
# with 2 ranks (overlapped and blocking reduction) beside 1 rank with the doubled batch, and
# the digits MLP, each rank bound to one core; runs interleaved, REPEATS times. Prints each
# run's per-step compute, data wait and communication (epochs after the first), then the
# medians. Usage: benchmarks/mpi_train.sh [OUT_DIR] (default mpi-train); needs a release build.
set -euo pipefail
out=${1:-mpi-train}
repeats=${REPEATS:-3}
F=${FEEDBENCH:-.build/release/feedbench}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
mpi=(mpirun -q "${root[@]}" --bind-to core --map-by core)
mkdir -p "$out"
[ -f "$out/cifar.txt" ] || "$F" generate --samples 10000 --shape 3,32,32 --content photos --to "$out/cifar.txt" --files 4 >/dev/null
cifar=(train --train "$out/cifar.txt" --net benchmarks/nets/cifar-mlp.yaml --epochs 3 --learning-rate 0.01)
digits=(train --train datasets/digits/train.txt --test datasets/digits/test.txt --hidden 128 --epochs 20)

# name ranks batch-per-rank command...
run() {
  local name=$1 n=$2 b=$3; shift 3
  "${mpi[@]}" -n "$n" "$F" "$@" --batch-size "$b" --log "$out/$name-$r.csv" > "$out/$name-$r.txt"
  # Per step (ms), epochs after the first: compute, data wait, communication, whole step.
  awk -F, -v g=$((n * b)) -v name="$name" 'NR > 2 {
      steps = int(($6 * $8 + g - 1) / g); c += $10 / steps; w += $11 / steps; m += $12 / steps; s += $8 / steps; k++ }
    END { printf "%-16s compute %6.2f  wait %5.2f  communication %6.2f  step %6.2f ms\n", name, 1000*c/k, 1000*w/k, 1000*m/k, 1000*s/k }' \
    "$out/$name-$r.csv"
}
for r in $(seq 1 "$repeats"); do
  echo "# round $r"
  run cifar-2-overlap 2 64 "${cifar[@]}" --overlap
  run cifar-2-blocking 2 64 "${cifar[@]}" --no-overlap
  run cifar-1 1 128 "${cifar[@]}"
  run digits-2 2 32 "${digits[@]}"
  run digits-1 1 64 "${digits[@]}"
done | tee "$out/steps.txt"
echo "# medians over $repeats rounds"
for name in cifar-2-overlap cifar-2-blocking cifar-1 digits-2 digits-1; do
  grep "^$name " "$out/steps.txt" | sort -k9 -n | awk -v k="$repeats" 'NR == int((k + 1) / 2)'
done
echo "# digits test accuracy after epoch 20 (2 ranks × 32 vs 1 rank × 64)"
for r in $(seq 1 "$repeats"); do
  echo "round $r: $(tail -1 "$out/digits-2-$r.csv" | cut -d, -f5) vs $(tail -1 "$out/digits-1-$r.csv" | cut -d, -f5)"
done

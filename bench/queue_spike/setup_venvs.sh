#!/usr/bin/env bash
# Makes one throwaway venv per queue engine for bench/queue_spike/run.py, with the spike's pins.
# Usage: bash bench/queue_spike/setup_venvs.sh [DIR]   (default /tmp/queue-spike; never .venv)
set -euo pipefail
dir=${1:-/tmp/queue-spike}
py=${PYTHON:-python3.11}
mkdir -p "$dir"
declare -A pins=(
  [saq]="saq[redis]==0.26.4 typing_extensions==4.16.0"  # saq imports it without declaring it
  [docket]="pydocket==0.27.0"
  [arq]="arq==0.28.0"
  [taskiq]="taskiq==0.13.0 taskiq-redis==1.2.4"
  [streaq]="streaq==7.2.0"
  [celery]="celery[redis]==5.7.0"
)
for engine in "${!pins[@]}"; do
  venv="$dir/v_$engine"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  # shellcheck disable=SC2086  # the pins are meant to split into words
  "$venv/bin/pip" install --disable-pip-version-check -q ${pins[$engine]}
  echo "$engine: $venv"
done

#!/bin/sh
# Keeps a training run going across crashes: reruns the given train.ts command (which must include
# --resume) while it exits non-zero (e.g. a wasm abort), up to 20 times, 30 s apart. A clean finish or a
# SIGTERM stop (train.ts saves and exits 0) ends it. Usage, from the repository root:
#   setsid nohup sh scripts/train/supervise.sh --model ghostnet ... --run-dir DIR --resume >> DIR/stdout.txt 2>&1 < /dev/null &
tries=0
while :; do
  node_modules/.bin/tsx scripts/train/train.ts "$@"
  code=$?
  [ "$code" -eq 0 ] && exit 0
  tries=$((tries + 1))
  if [ "$tries" -ge 20 ]; then echo "supervise: giving up after $tries failures (last exit $code)"; exit "$code"; fi
  echo "supervise: train.ts exited $code; resuming in 30 s (failure $tries of 20)"
  sleep 30
done

#!/bin/bash
# The browser pipeline bench on a machine with no Node: unpacks the Chromium headless shell bundle
# (pack-chromium.sh) and the bench (prepare.ts), finds Chromium flags that give a hardware WebGPU adapter
# (one probe page per flag set), then runs the plan in that browser and waits for the page to finish.
# Writes probe-*.json, results.json, the kept ONNX exports, page.log and chrome.log into $OUT.
#
# Use: OUT=dir bash bench/browser/device.sh [bundle-dir]   (bundle-dir: an unpacked bundle; default: unpack
#      .devbench/chrome.part* or /root/stage/chrome.part*). HARD_LIMIT (s) stops the browser (default 420).
set -u
OUT=${OUT:?set OUT}
HARD_LIMIT=${HARD_LIMIT:-420}
PORT=${PORT:-8123}
repo=$(pwd)
mkdir -p "$OUT"
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# GL/Vulkan loader libraries for the NVIDIA driver (.gl/, see the device README); absent on a machine with its own.
if [ -d .gl ] && ! ldconfig -p | grep -q libGLdispatch; then for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; fi

chrome_dir=${1:-}
if [ -z "$chrome_dir" ]; then
  chrome_dir=/tmp/chrome
  parts=$(ls .devbench/chrome.part* 2>/dev/null | sort)
  [ -n "$(ls /root/stage/chrome.part* 2>/dev/null)" ] && parts=$( (ls /root/stage/chrome.part*; ls .devbench/chrome.part* 2>/dev/null) | xargs -n1 basename | sort -u | while read p; do [ -f .devbench/$p ] && echo .devbench/$p || echo /root/stage/$p; done)
  say "chromium parts: $parts"
  mkdir -p $chrome_dir && cat $parts | xz -d | tar -C $chrome_dir -x || { say "could not unpack chromium"; exit 3; }
fi
rm -rf /tmp/dist-bench && mkdir -p /tmp/dist-bench && tar -C /tmp/dist-bench -xJf .devbench/dist-bench.tar.xz

# Libraries: the bundle's, plus libstdc++/libexpat (they need glibc 2.36) only where the system has no own.
libs=$chrome_dir/lib
glibc=$(ldd --version 2>/dev/null | head -1 | grep -o '[0-9]\+\.[0-9]\+$')
say "glibc $glibc; $(grep PRETTY_NAME /etc/os-release 2>/dev/null)"
export LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ! { ldconfig -p | grep -q 'libstdc++.so.6 ' && ldconfig -p | grep -q 'libexpat.so.1 '; } \
   && [ "$(printf '%s\n2.36\n' "$glibc" | sort -V | head -1)" = "2.36" ]; then export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$chrome_dir/lib236; fi
if [ -d /usr/local/nvidia/share/vulkan/icd.d ]; then
  icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/*.json | head -1)
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/local/nvidia/lib64:/usr/local/nvidia/lib
fi
say "missing libraries: $(ldd $chrome_dir/chromium-headless-shell | grep 'not found' | tr '\n' ' ')"
nvidia-smi -L 2>/dev/null

python3 bench/browser/serve.py --root /tmp/dist-bench --out "$OUT" --port $PORT > "$OUT/server.log" 2>&1 &
server=$!
sleep 1

common=(--no-sandbox --enable-unsafe-webgpu --disable-quic --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir=/tmp/chrome-profile)
declare -A flagsets=(
  [vulkan]="--use-angle=vulkan --enable-features=Vulkan --disable-vulkan-surface"
  [vulkan-noblock]="--use-angle=vulkan --enable-features=Vulkan --disable-vulkan-surface --ignore-gpu-blocklist"
  [vulkan-native]="--use-angle=vulkan --use-vulkan=native --enable-features=Vulkan,VulkanFromANGLE,DefaultANGLEVulkan --disable-vulkan-surface --ignore-gpu-blocklist --enable-gpu"
  [vulkan-gl]="--use-gl=angle --use-angle=vulkan --enable-features=Vulkan --enable-gpu --ignore-gpu-blocklist --disable-software-rasterizer --disable-vulkan-surface"
  [default]=""
)
chosen=""
for label in vulkan vulkan-noblock vulkan-native vulkan-gl; do
  rm -rf /tmp/chrome-profile
  timeout 25 $chrome_dir/chromium-headless-shell "${common[@]}" ${flagsets[$label]} "http://127.0.0.1:$PORT/bench/browser/pipeline.html?probe=$label" >> "$OUT/chrome.log" 2>&1 &
  pid=$!
  for i in $(seq 1 44); do [ -f "$OUT/probe-$label.json" ] && break; sleep 0.5; done
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
  say "probe $label: $(cat "$OUT/probe-$label.json" 2>/dev/null | head -c 400)"
  if grep -qi 'nvidia' "$OUT/probe-$label.json" 2>/dev/null; then chosen=$label; break; fi
done
if [ -z "$chosen" ]; then
  if [ -z "${ALLOW_SOFTWARE:-}" ]; then
    # No hardware adapter: a run on SwiftShader would waste the machine; keep the diagnostics for a fix.
    say "no NVIDIA WebGPU adapter with any flag set; not running the plan"
    timeout 20 $chrome_dir/chromium-headless-shell "${common[@]}" ${flagsets[vulkan]} --enable-logging=stderr --v=1 \
      "http://127.0.0.1:$PORT/bench/browser/pipeline.html?probe=verbose" > "$OUT/chrome.verbose.log" 2>&1
    grep -iE 'vulkan|dawn|gpu|webgpu|icd|nvidia' "$OUT/chrome.verbose.log" | tail -c 8000 > "$OUT/chrome.gpu.log"; rm -f "$OUT/chrome.verbose.log"
    chosen=none
  else
    chosen=default
  fi
fi
say "running the plan with flags: $chosen"
echo "$chosen: ${flagsets[$chosen]}" > "$OUT/flags.txt"

if [ "$chosen" != none ]; then
rm -rf /tmp/chrome-profile
left=$(( HARD_LIMIT - ($(date +%s) - t0) ))
timeout $left $chrome_dir/chromium-headless-shell "${common[@]}" ${flagsets[$chosen]} "http://127.0.0.1:$PORT/bench/browser/pipeline.html" >> "$OUT/chrome.log" 2>&1 &
pid=$!
while [ ! -f "$OUT/done" ] && kill -0 $pid 2>/dev/null; do sleep 1; done
say "page finished: $( [ -f "$OUT/done" ] && echo yes || echo 'no (browser stopped or timed out)')"
fi
kill $pid 2>/dev/null; kill $server 2>/dev/null; wait 2>/dev/null
# At most 8 files come back from the device: probes in one file, diagnostics in another.
for f in "$OUT"/probe-*.json; do [ -f "$f" ] && { cat "$f"; echo; }; done > "$OUT/probes.jsonl"; rm -f "$OUT"/probe-*.json
{ cat "$OUT/flags.txt"; echo '--- server'; tail -c 2000 "$OUT/server.log"; echo '--- chrome'; tail -c 6000 "$OUT/chrome.log"; } > "$OUT/diag.txt"
rm -f "$OUT/flags.txt" "$OUT/server.log" "$OUT/chrome.log" "$OUT/done"
cat "$OUT/page.log" 2>/dev/null | tail -40
exit 0

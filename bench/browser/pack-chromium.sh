#!/bin/bash
# Packs Debian's chromium-headless-shell with the files it needs from chromium-common and every shared
# library it links beyond glibc, for a bare machine that has neither (bench/browser/device.sh unpacks it).
# libstdc++ and libexpat go to lib236/: they need glibc 2.36, and an older system keeps its own.
# The xz archive (about 73 MB) is split into .devbench/chrome.part1 and .part2 to travel in two calls.
set -eu
work=$(mktemp -d)
repo=$(pwd)
(cd $work && apt-get download chromium-headless-shell chromium-common >/dev/null 2>&1)
mkdir -p $work/x $work/b/lib $work/b/lib236 $work/b/locales
for d in $work/*.deb; do dpkg -x $d $work/x; done
c=$work/x/usr/lib/chromium
cp $c/chromium-headless-shell $c/headless_command_resources.pak $c/headless_lib_data.pak $c/headless_lib_strings.pak \
   $c/icudtl.dat $c/libEGL.so $c/libGLESv2.so $c/libvk_swiftshader.so $c/vk_swiftshader_icd.json $c/libvulkan.so.1 \
   $c/snapshot_blob.bin $c/v8_context_snapshot.bin $work/b/
cp $c/locales/en-US.pak $work/b/locales/
for l in $(ldd $work/b/chromium-headless-shell | awk '$3 ~ /^\// {print $3}'); do
  case $(basename $l) in
    libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|librt.so.1) ;;
    libstdc++.so.6|libexpat.so.1) cp -L $l $work/b/lib236/ ;;
    *) cp -L $l $work/b/lib/ ;;
  esac
done
mkdir -p .devbench
tar -C $work/b -cf - . | xz -9 -T2 > $work/chrome.tar.xz
split -b 44M -d -a 1 $work/chrome.tar.xz .devbench/chrome.part
ls -la .devbench/chrome.part*
rm -rf $work

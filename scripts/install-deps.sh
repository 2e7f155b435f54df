#!/bin/sh
# Installs every system package DHA Studio needs to build, test and run, from Debian 12's archive only.
# Run as root. Safe to run again.
set -eu

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    g++ cmake ninja-build pkg-config ca-certificates \
    libtorch-dev libopenblas0-openmp libgloo-dev nlohmann-json3-dev zlib1g-dev \
    qt6-base-dev qt6-svg-dev qt6-qpa-plugins libqcustomplot-dev libqcustomplot2.1-qt6 \
    sentencepiece python3 \
    xvfb xauth imagemagick x11-apps dpkg-dev fakeroot >/dev/null

# LibTorch's matrix products go through libblas.so.3. The reference BLAS is ~25x slower than OpenBLAS, and the
# pthread OpenBLAS oversubscribes the cores next to LibTorch's own threads: select the OpenMP build.
for lib in libblas.so.3 liblapack.so.3; do
    alt="$lib-$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
    target="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/openblas-openmp/$lib"
    if [ -e "$target" ]; then update-alternatives --quiet --set "$alt" "$target"; fi
done
echo "install-deps: system packages ready"

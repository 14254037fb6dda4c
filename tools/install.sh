#!/usr/bin/env bash
# Install eBPFsentinel from this source checkout into a prefix with its own venv, plus the
# systemd unit and an example config. Idempotent: re-running upgrades the code, refreshes the
# unit, and never overwrites an existing /etc/ebpfsentinel/config.yaml. Starts nothing unless
# --enable/--start is given. Needs the kernel objects built first (make -C bpf).
#
#   tools/install.sh [--prefix /opt/ebpfsentinel] [--root DIR] [--dry-run] [--skip-venv]
#                    [--enable] [--start]
#
#   --prefix   install location (default /opt/ebpfsentinel); the unit's paths follow it
#   --root     stage everything under DIR (packaging, tests): DIR/opt/..., DIR/etc/...;
#              systemctl is never called with --root
#   --dry-run  print what would be done, change nothing
#   --skip-venv  copy files, unit and config only (no Python environment)
#   --enable / --start  systemctl enable / (re)start ebpfsentinel afterwards
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/ebpfsentinel
ROOT=
DRY=0
SKIP_VENV=0
ENABLE=0
START=0
PACKAGES=(domain ports application infrastructure adapters agent)

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
        --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        --skip-venv) SKIP_VENV=1; shift ;;
        --enable) ENABLE=1; shift ;;
        --start) START=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (see --help)" >&2; exit 1 ;;
    esac
done
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 1 ;; esac
ROOT=${ROOT%/}

DEST=$ROOT$PREFIX
ETC=$ROOT/etc/ebpfsentinel
UNIT_DIR=$ROOT/etc/systemd/system
STATE=$ROOT/var/lib/ebpfsentinel
OBJECTS=$SRC/packages/adapters/src/sentinel_adapters/ebpf/objects

run() {
    echo "+ $*"
    if ((!DRY)); then "$@"; fi
}

if ((!DRY)) && [[ -z $ROOT ]] && ((EUID != 0)); then
    echo "install.sh: run as root (or use --root DIR / --dry-run)" >&2
    exit 1
fi
if ((!SKIP_VENV)) && ! compgen -G "$OBJECTS/*.bpf.o" >/dev/null; then
    echo "install.sh: no kernel objects in $OBJECTS: run 'make -C bpf' first" >&2
    ((DRY)) || exit 1
fi

echo "==> eBPFsentinel: $SRC -> $DEST (config $ETC, unit $UNIT_DIR)"
run install -d -m 0755 "$DEST" "$DEST/docs" "$UNIT_DIR"
run install -d -m 0755 "$ETC"
run install -d -m 0700 "$STATE"

if ((!SKIP_VENV)); then
    VENV=$DEST/venv
    if command -v uv >/dev/null 2>&1; then
        # The locked dependency set (uv.lock), then the workspace packages themselves.
        [[ -x $VENV/bin/python ]] || run uv venv --python python3 "$VENV"
        REQS=$DEST/requirements.lock.txt
        echo "+ uv export --frozen --no-dev --no-emit-workspace > $REQS"
        if ((!DRY)); then
            (cd "$SRC" && uv export --frozen --no-dev --no-emit-workspace --no-hashes >"$REQS")
        fi
        run uv pip install --python "$VENV/bin/python" -r "$REQS"
        run uv pip install --python "$VENV/bin/python" --no-deps --reinstall \
            "${PACKAGES[@]/#/$SRC/packages/}"
    else
        [[ -x $VENV/bin/python ]] || run python3 -m venv "$VENV"
        run "$VENV/bin/pip" install --quiet --upgrade "${PACKAGES[@]/#/$SRC/packages/}"
    fi
    # The compiled objects are build products (not in the wheels): copy them next to the code.
    if ((DRY)); then
        SITE="$VENV/lib/python3.X/site-packages"
    else
        SITE=$("$VENV/bin/python" -c 'import sentinel_adapters.ebpf as m, os; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))')
    fi
    run install -d -m 0755 "$SITE/sentinel_adapters/ebpf/objects"
    run install -m 0644 "$OBJECTS"/*.bpf.o "$SITE/sentinel_adapters/ebpf/objects/"
fi

run install -m 0644 "$SRC"/docs/*.md "$DEST/docs/"

# The unit, with its paths following --prefix (the packaged file says /opt/ebpfsentinel).
UNIT=$UNIT_DIR/ebpfsentinel.service
echo "+ sed 's#/opt/ebpfsentinel#$PREFIX#g' packaging/systemd/ebpfsentinel.service > $UNIT"
if ((!DRY)); then
    sed "s#/opt/ebpfsentinel#$PREFIX#g" "$SRC/packaging/systemd/ebpfsentinel.service" >"$UNIT.tmp"
    chmod 0644 "$UNIT.tmp"
    mv -f "$UNIT.tmp" "$UNIT"
fi

if [[ -e $ETC/config.yaml ]]; then
    echo "==> keeping the existing $ETC/config.yaml"
else
    run install -m 0600 "$SRC/packaging/config.example.yaml" "$ETC/config.yaml"
    echo "==> edit $ETC/config.yaml (agent.interfaces) before starting"
fi

if [[ -z $ROOT ]] && command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    run systemctl daemon-reload
    if ((ENABLE)); then run systemctl enable ebpfsentinel.service; fi
    if ((START)); then run systemctl restart ebpfsentinel.service; fi
elif ((ENABLE || START)); then
    echo "==> not enabling/starting: staged under --root or no systemd running" >&2
fi
if ((DRY)); then echo "==> dry run: nothing was changed"; else echo "==> installed"; fi

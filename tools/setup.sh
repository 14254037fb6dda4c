#!/usr/bin/env bash
# Install everything eBPFsentinel needs on Debian 12 (as root), idempotently:
# system packages (apt), uv, the locked Python environment (.venv) and the kernel objects.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(clang llvm libbpf-dev libbpf1 bpftool iproute2 iputils-ping make gcc libc6-dev
              curl ca-certificates python3 python3-pip python3-venv
              systemd)  # systemd-analyze checks the packaged unit in the tests

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "==> installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
    echo "==> installing uv"
    python3 -m pip install --quiet uv 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages uv
    hash -r
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")

echo "==> syncing the locked Python environment (.venv)"
"$UV" sync --locked --quiet

echo "==> building the eBPF objects"
make -s -C bpf

# bpffs is where pinned maps live; most systems mount it already.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
echo "==> ready: .venv/bin/ebpfsentinel-agent"

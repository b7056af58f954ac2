#!/usr/bin/env bash
# Set up what the tests need for real Debian test nodes on this machine:
#   - packages: podman (with runc), debootstrap, openssh-client, sudo, gpg (signed test repositories);
#   - podman configured for this kind of machine (runc, lower ulimits);
#   - the test image localhost/pallet-debian:12 (Debian 12 minbase with sshd, sudo, cron, unattended-upgrades, rsync, fail2ban, curl; built once, then cached);
#   - podman's Docker-compatible API service on /run/podman/podman.sock.
# Idempotent: run it as often as you like. Needs root.
set -euo pipefail

IMAGE=${PALLET_TEST_IMAGE:-localhost/pallet-debian:12}
SOCK=${PALLET_PODMAN_SOCK:-/run/podman/podman.sock}
MIRROR=${PALLET_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[test-nodes] %s\n' "$*" >&2; }

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ssh >/dev/null || need+=(openssh-client)
command -v sudo >/dev/null || need+=(sudo)
command -v curl >/dev/null || need+=(curl)
command -v rsync >/dev/null || need+=(rsync)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v tmux >/dev/null || need+=(tmux)
command -v gpg >/dev/null || need+=(gpg)
command -v gpgconf >/dev/null || need+=(gpgconf)
command -v gpg-agent >/dev/null || need+=(gpg-agent)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
mkdir -p /etc/containers
if ! grep -q 'pallet-test-nodes' "$conf" 2>/dev/null; then
  log "configuring podman ($conf)"
  cat > "$conf" <<'CONF'
# pallet-test-nodes: crun fails here (cgroups in hybrid mode), and podman's
# default ulimits exceed this machine's hard limits.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
  restart_service=1
fi

# What the image must hold; an image built before a package was added here is rebuilt.
IMAGE_PACKAGES=openssh-server,sudo,ca-certificates,cron,unattended-upgrades,rsync,fail2ban,curl,iproute2
if podman image exists "$IMAGE" && ! podman run --rm "$IMAGE" sh -c 'command -v crontab && command -v unattended-upgrade && command -v rsync && command -v fail2ban-client && command -v curl && command -v ip' >/dev/null 2>&1; then
  log "$IMAGE lacks packages of $IMAGE_PACKAGES: rebuilding it"
  podman rmi -f "$IMAGE" >/dev/null
fi
if ! podman image exists "$IMAGE"; then
  log "building $IMAGE with debootstrap (about a minute)"
  dir=$(mktemp -d /tmp/pallet-rootfs.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  debootstrap --variant=minbase --include="$IMAGE_PACKAGES" bookworm "$dir" "$MIRROR" >/tmp/pallet-debootstrap.log 2>&1 \
    || { tail -20 /tmp/pallet-debootstrap.log >&2; exit 1; }
  # Every node must get its own host key: none is baked into the image.
  rm -f "$dir"/etc/ssh/ssh_host_*
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | podman import - "$IMAGE" >/dev/null
  rm -rf "$dir"
  trap - EXIT
fi

for pid in $(pgrep -f "podman system service.*$SOCK" || true); do
  case "$(readlink "/proc/$pid/cwd")" in *"(deleted)") restart_service=1 ;; esac   # its working directory was removed
done
if [ -n "${restart_service:-}" ] || ! curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; then
  pkill -f "podman system service.*$SOCK" 2>/dev/null || true
  mkdir -p "$(dirname "$SOCK")"
  log "starting podman's Docker API on $SOCK"
  # From /: the service outlives this script, and a deleted working directory (a removed checkout) breaks runc.
  (cd / && nohup podman system service --time=0 "unix://$SOCK" >/tmp/pallet-podman-service.log 2>&1 &)
  for _ in $(seq 1 50); do
    curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS --unix-socket "$SOCK" http://d/_ping >/dev/null || { log "podman service did not start"; cat /tmp/pallet-podman-service.log >&2; exit 1; }
fi
log "ready: image $IMAGE, Docker API at unix://$SOCK"

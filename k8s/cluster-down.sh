#!/usr/bin/env bash
# Stops the local cluster k8s/cluster-up.sh started and removes what it left on the machine: its
# processes, pod containers and their network namespaces, mounts under the kubelet's and containerd's
# directories, the pods' bridge, the iptables chains of kube-proxy, the kubelet and CNI (KUBE-*,
# CNI-*), the kubelet's cgroups, and etcd's data: the next cluster-up starts a fresh cluster. Kept, as
# caches: builds, images (in Docker and in containerd's content store), certificates and logs.
# Docker's engine and its containers are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
source k8s/cluster/lib.sh

[ "$(id -u)" = 0 ] || die "the local cluster runs as root: run cluster-down as root"

unmount_under() { # DIR: every mount below DIR (and DIR itself), deepest first
  local mounts
  mounts="$(awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)"
  [ -z "$mounts" ] || xargs -r -d '\n' -n 1 umount <<<"$mounts" 2>/dev/null \
    || xargs -r -d '\n' -n 1 umount -l <<<"$mounts" 2>/dev/null || true
}

# Rules that jump to KUBE-* and CNI-* chains, then those chains, in every table of both families.
remove_chains() {
  local cmd table chain
  for cmd in iptables ip6tables; do
    for table in filter nat mangle raw; do
      "$cmd" -t "$table" -S 2>/dev/null | grep -E '^-A .* -j (KUBE|CNI)-' | grep -Ev '^-A (KUBE|CNI)-' \
        | while read -r rule; do
          # eval: -S quotes comments as a shell would, and -D takes the rule back in that form.
          eval "\"\$cmd\" -t \"\$table\" -D ${rule#-A }" 2>/dev/null || true
        done || true
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
        "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
        "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

log "stopping the kubelet and kube-proxy"
stop_process kubelet
stop_process kube-proxy

if [ -S "$CONTAINERD_SOCK" ] && [ -n "$(pid_of containerd)" ]; then
  log "removing pod containers"
  for id in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  for id in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $(ctr containers ls -q 2>/dev/null); do ctr containers delete "$id" >/dev/null 2>&1 || true; done
fi
stop_process containerd
# Shims outlive a killed containerd: ours are those started with our socket's address.
for proc in /proc/[0-9]*; do
  if tr '\0' ' ' 2>/dev/null <"$proc/cmdline" | grep -qF -- "-address $CONTAINERD_SOCK "; then
    kill -KILL "${proc#/proc/}" 2>/dev/null || true
  fi
done

log "stopping the control plane"
for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_process "$name"; done

log "removing mounts, network namespaces, the bridge, iptables chains and cgroups"
unmount_under "$KUBELET_DIR"
unmount_under "$RUN_DIR"
unmount_under "$CONTAINERD_ROOT"
unmount_under "$ETCD_DATA"
# containerd's CRI names the pods' network namespaces cni-<uuid>; nothing else here makes any.
for netns in /run/netns/cni-*; do
  [ -e "$netns" ] || continue
  umount "$netns" 2>/dev/null || umount -l "$netns" 2>/dev/null || true
  rm -f "$netns"
done
ip link delete "$BRIDGE" 2>/dev/null || true
remove_chains
# kube-network-policies' nftables table: its pod was killed, not stopped, so its rules stay behind
# and would drop the next cluster's first packets to reused pod addresses until it starts again.
if command -v nft >/dev/null; then nft delete table inet kube-network-policies 2>/dev/null || true; fi
for cgroup in /sys/fs/cgroup/*/kubepods; do
  if [ -d "$cgroup" ]; then find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
done

rm -rf "$KUBELET_DIR" "$RUN_DIR" "$ETCD_DATA" "$CNI_DATA" "$PIDS" "$CLUSTER/argo-install"
log "the local cluster is down (kept: builds, images, certificates, logs in $LOGS)"

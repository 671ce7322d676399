# Configuration files of containerd, CNI, the kubelet and kube-proxy, written from the values in
# lib.sh. Sourced by k8s/cluster-up.sh. A file is only rewritten when its content changes:
# kube-proxy exits whenever its configuration file is written to.
# shellcheck shell=bash

write_configs() {
  mkdir -p "$CNI_CONF" "$CNI_DATA"

  # A containerd of our own beside Docker's: its own root, state and socket, images in `k8s.io`.
  update_file "$CLUSTER/containerd.toml" <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$RUN_DIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_ROOT/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$(pause_image)"
  # This machine's bounding set lacks CAP_SYS_RESOURCE: no process may lower its oom_score_adj, and
  # the -998 the kubelet asks for pod sandboxes would fail every pod. Clamped to containerd's own.
  restrict_oom_score_adj = true
  # Images only ever come from docker save | ctr import (k8s/tools/load-images.sh).
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroupfs, as the kubelet: there is no systemd on this machine.
        SystemdCgroup = false
        Root = "$RUN_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$CNI_CONF"
EOF

  # One bridge, one /24 for the single node. No masquerading: pods only talk to this machine and
  # to each other. The firewall plugin lets pod traffic through the FORWARD chain, whose policy
  # Docker sets to DROP.
  update_file "$CNI_CONF/10-breweries.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "breweries",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_DATA",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF

  # Pods get no resolver beyond CoreDNS, and CoreDNS forwards nowhere: names outside the cluster
  # are answered NXDOMAIN here instead of being asked of resolvers off this machine.
  echo "# breweries local cluster: no upstream resolver (see k8s/README.md)" | update_file "$CLUSTER/resolv.conf"

  update_file "$CLUSTER/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet-server.crt
tlsPrivateKeyFile: $PKI/kubelet-server.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: $CLUSTER/resolv.conf
failSwapOn: false
# Without CAP_SYS_RESOURCE (see containerd.toml) the kubelet cannot lower its own OOM score either.
oomScoreAdj: 0
serializeImagePulls: false
# The disk is shared with builds and images: evict only when it is really short.
evictionHard:
  memory.available: 200Mi
  nodefs.available: 5%
  imagefs.available: 5%
# 100 turns image garbage collection off: there is no registry to pull a collected image from again.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF

  update_file "$CLUSTER/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CLUSTER/kube-proxy.kubeconfig
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
# NodePorts on the node's own address only, not on every interface (docker0's included).
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0   # it may not lower it: no CAP_SYS_RESOURCE here (see containerd.toml)
# Leave the kernel's conntrack settings alone (0 = do not set): they are the machine's, not ours.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
}

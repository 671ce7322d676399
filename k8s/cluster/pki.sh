# The cluster's certificates and kubeconfigs, made with openssl and kubectl. Sourced by
# k8s/cluster-up.sh after lib.sh. Each certificate is reissued only when it is missing, no longer
# signed by its CA, within 30 days of expiry, or asked for with other names or addresses (a new node
# address, say): a second cluster-up reuses them all.
# shellcheck shell=bash

# A self-signed CA (ten years): NAME CN
ca() {
  local key="$PKI/$1.key" crt="$PKI/$1.crt"
  if [ -s "$crt" ] && openssl x509 -in "$crt" -noout -checkend 2592000 >/dev/null; then return; fi
  log "pki: new CA $1"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
  openssl req -x509 -new -key "$key" -subj "/CN=$2" -days 3650 -out "$crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
}

# A certificate (one year) signed by CA: NAME CA USAGE(server|client|both) SUBJECT [SAN]
cert() {
  local name="$1" ca="$2" usage="$3" subject="$4" san="${5:-}"
  local key="$PKI/$name.key" crt="$PKI/$name.crt" spec="$usage|$subject|$san" eku
  if [ -s "$crt" ] && [ "$(cat "$PKI/$name.spec" 2>/dev/null)" = "$spec" ] \
    && openssl verify -CAfile "$PKI/$ca.crt" "$crt" >/dev/null 2>&1 \
    && openssl x509 -in "$crt" -noout -checkend 2592000 >/dev/null; then
    return
  fi
  log "pki: issuing $name"
  case "$usage" in
    server) eku=serverAuth ;;
    client) eku=clientAuth ;;
    both) eku=serverAuth,clientAuth ;;
  esac
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
  openssl req -new -key "$key" -subj "$subject" 2>/dev/null \
    | openssl x509 -req -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 365 -out "$crt" 2>/dev/null -extfile <(
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$eku"
        if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
      )
  echo "$spec" >"$PKI/$name.spec"
}

# A kubeconfig for a client certificate: FILE CERT-NAME
kubeconfig() {
  local file="$1" user="$2" server
  server="https://$NODE_IP:6443"
  rm -f "$file.new"
  "$BIN/kubectl" config --kubeconfig "$file.new" set-cluster breweries --server "$server" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file.new" set-credentials "$user" \
    --client-certificate "$PKI/$user.crt" --client-key "$PKI/$user.key" --embed-certs >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file.new" set-context breweries --cluster breweries --user "$user" >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file.new" use-context breweries >/dev/null
  chmod 600 "$file.new"
  update_file "$file" <"$file.new"
  rm -f "$file.new"
}

pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  umask 077
  ca ca breweries-kubernetes-ca
  # etcd trusts every certificate its CA signs: a CA of its own keeps the others out of it.
  ca etcd-ca breweries-etcd-ca
  # The request-header CA, as kubeadm makes it: the controllers expect one even with no aggregated API.
  ca front-proxy-ca breweries-front-proxy-ca
  cert front-proxy-client front-proxy-ca client /CN=front-proxy-client
  cert etcd-server etcd-ca server /CN=etcd "DNS:localhost,IP:127.0.0.1"
  cert apiserver-etcd-client etcd-ca client /CN=kube-apiserver-etcd-client
  cert apiserver ca server /CN=kube-apiserver \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP"
  cert apiserver-kubelet-client ca client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin ca client "/O=system:masters/CN=breweries-admin"
  cert controller-manager ca client /CN=system:kube-controller-manager
  cert scheduler ca client /CN=system:kube-scheduler
  cert kube-proxy ca client /CN=system:kube-proxy
  cert kubelet ca client "/O=system:nodes/CN=system:node:$NODE_NAME"
  cert kubelet-server ca server "/CN=system:node:$NODE_NAME" "DNS:$NODE_NAME,IP:$NODE_IP"
  if [ ! -s "$PKI/sa.key" ]; then
    log "pki: new service account signing key"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/sa.key" 2>/dev/null
  fi
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  umask 022

  kubeconfig "$KUBECONFIG_FILE" admin
  kubeconfig "$CLUSTER/controller-manager.kubeconfig" controller-manager
  kubeconfig "$CLUSTER/scheduler.kubeconfig" scheduler
  kubeconfig "$CLUSTER/kube-proxy.kubeconfig" kube-proxy
  kubeconfig "$CLUSTER/kubelet.kubeconfig" kubelet
}

"""From inside a pod: the cluster's DNS answers Service names (and only those), and the API server
answers through the `kubernetes` Service with the pod's service account."""

import json
import socket
import ssl
import sys
import urllib.request

NAME = "kubernetes.default.svc.cluster.local"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"

address = socket.gethostbyname(NAME)
print(f"cluster-check: {NAME} resolves to {address}", flush=True)
try:
    socket.gethostbyname("example.com")
    sys.exit("cluster-check: example.com resolved: CoreDNS must not answer names outside the cluster")
except socket.gaierror as error:
    print(f"cluster-check: example.com is not resolved ({error.strerror}): no outside resolver", flush=True)

with open(f"{SA}/token") as token:
    request = urllib.request.Request(f"https://{NAME}/version", headers={"Authorization": f"Bearer {token.read()}"})
context = ssl.create_default_context(cafile=f"{SA}/ca.crt")
with urllib.request.urlopen(request, context=context, timeout=10) as response:
    version = json.load(response)["gitVersion"]
print(f"cluster-check: the API server answers through the kubernetes Service: {version}", flush=True)

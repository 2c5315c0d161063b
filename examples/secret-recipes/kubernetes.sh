#!/bin/sh
# ctconfig command sink: each new passcode secret as a Kubernetes Secret.
#
#   secrets: {sink: command, command: sh examples/secret-recipes/kubernetes.sh}
#
# Needs `kubectl` with a context allowed to get, create and patch Secrets in the namespace
# (CTCONFIG_K8S_NAMESPACE, default: the context's namespace). CT_PROD_SEGMENT_EXPORT becomes the
# Secret `ct-prod-segment-export` with the key `passcode`, annotated `ctconfig/address` with the
# address that owns it; a Secret of another address (or not made by ctconfig) is refused.
# Server-side apply keeps the secret out of the last-applied-configuration annotation.
# Pods use it with: env: [{name: CT_PROD_SEGMENT_EXPORT, valueFrom: {secretKeyRef:
#   {name: ct-prod-segment-export, key: passcode}}}]
set -eu
name="${CTCONFIG_SECRET_NAME:?is set by ctconfig}"
address="${CTCONFIG_ADDRESS:?is set by ctconfig}"
# Secret names are DNS subdomains: CT_PROD_SEGMENT_EXPORT -> ct-prod-segment-export (one to one).
secret=$(printf '%s' "$name" | tr 'A-Z_' 'a-z-')
set -- # kubectl's namespace flag, when one is set
if [ -n "${CTCONFIG_K8S_NAMESPACE:-}" ]; then set -- --namespace "$CTCONFIG_K8S_NAMESPACE"; fi

status=0
owner=$(kubectl "$@" get secret "$secret" --ignore-not-found \
  -o jsonpath='{.metadata.annotations.ctconfig/address}{"|"}{.metadata.name}' 2>&1) || status=$?
if [ "$status" -ne 0 ]; then
  echo "kubernetes.sh: could not read the Secret $secret: $owner" >&2
  exit 1
fi
case "$owner" in
  "" | "$address|$secret") ;; # a new Secret, or this address's own
  "|$secret")
    echo "kubernetes.sh: the Secret $secret was not made by ctconfig; refusing to overwrite it" >&2
    exit 1
    ;;
  *)
    echo "kubernetes.sh: the Secret $secret holds the secret of ${owner%|*}; refusing to overwrite it with $address's" >&2
    exit 1
    ;;
esac
# The secret goes from stdin into the manifest and on to the API server, never into a command line.
kubectl "$@" create secret generic "$secret" --from-file=passcode=/dev/stdin --dry-run=client -o yaml |
  kubectl "$@" annotate --local -f - "ctconfig/address=$address" -o yaml |
  kubectl "$@" label --local -f - app.kubernetes.io/managed-by=ctconfig -o yaml |
  kubectl "$@" apply --server-side --field-manager=ctconfig --force-conflicts -f - >/dev/null

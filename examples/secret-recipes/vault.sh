#!/bin/sh
# ctconfig command sink: each new passcode secret into HashiCorp Vault's KV version 2 engine.
#
#   secrets: {sink: command, command: sh examples/secret-recipes/vault.sh}
#
# Needs the `vault` CLI with VAULT_ADDR and VAULT_TOKEN (a token that may read and write
# <mount>/<path>/*). The secret arrives on stdin and goes to <mount>/<path>/<CTCONFIG_SECRET_NAME>
# as the field `passcode`, next to the field `ctconfig_address` naming the address that owns it;
# a path that holds another address's secret (or was not written by ctconfig) is refused.
# VAULT_KV_MOUNT (default `secret`) and VAULT_KV_PATH (default `ctconfig`) choose the place.
# Consumers read it with: vault kv get -mount=secret -field=passcode ctconfig/CT_PROD_SEGMENT_EXPORT
set -eu
name="${CTCONFIG_SECRET_NAME:?is set by ctconfig}"
address="${CTCONFIG_ADDRESS:?is set by ctconfig}"
mount="${VAULT_KV_MOUNT:-secret}"
path="${VAULT_KV_PATH:-ctconfig}/$name"

status=0
owner=$(vault kv get -mount="$mount" -field=ctconfig_address "$path" 2>&1) || status=$?
if [ "$status" -eq 0 ]; then
  if [ "$owner" != "$address" ]; then
    echo "vault.sh: $mount/$path holds the secret of $owner; refusing to overwrite it with $address's" >&2
    exit 1
  fi
else
  case "$owner" in
    *"No value found"*) ;; # a new path
    *"not present in secret"*)
      echo "vault.sh: $mount/$path was not written by ctconfig; refusing to overwrite it" >&2
      exit 1
      ;;
    *)
      echo "vault.sh: could not read $mount/$path: $owner" >&2
      exit 1
      ;;
  esac
fi
# `passcode=-` reads the value from stdin: the secret never appears in a command line.
vault kv put -mount="$mount" "$path" passcode=- ctconfig_address="$address" >/dev/null

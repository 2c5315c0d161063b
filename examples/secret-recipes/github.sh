#!/bin/sh
# ctconfig command sink: each new passcode secret as a GitHub Actions secret.
#
#   secrets: {sink: command, command: sh examples/secret-recipes/github.sh}
#
# Needs the `gh` CLI and GH_TOKEN: a fine-grained token with "Secrets" and "Variables: read and
# write" on the repository (GITHUB_TOKEN cannot write secrets). GITHUB_REPOSITORY (owner/repo)
# names the repository; GITHUB_SECRETS_ENV (optional) an environment of it. The secret becomes
# CT_PROD_SEGMENT_EXPORT; GitHub secrets cannot carry metadata, so the address that owns it is
# kept in the variable CT_PROD_SEGMENT_EXPORT_CTCONFIG_ADDRESS, and a secret of another address
# is refused. A secret made before that variable existed is taken over.
set -eu
name="${CTCONFIG_SECRET_NAME:?is set by ctconfig}"
address="${CTCONFIG_ADDRESS:?is set by ctconfig}"
set -- --repo "${GITHUB_REPOSITORY:?names the repository, owner/repo}"
if [ -n "${GITHUB_SECRETS_ENV:-}" ]; then set -- "$@" --env "$GITHUB_SECRETS_ENV"; fi
owner_variable="${name}_CTCONFIG_ADDRESS"

status=0
owner=$(gh variable get "$owner_variable" "$@" 2>&1) || status=$?
if [ "$status" -eq 0 ]; then
  if [ "$owner" != "$address" ]; then
    echo "github.sh: the secret $name holds the secret of $owner; refusing to overwrite it with $address's" >&2
    exit 1
  fi
else
  case "$owner" in
    *"not found"* | *"Not Found"*) gh variable set "$owner_variable" "$@" --body "$address" ;;
    *)
      echo "github.sh: could not read the variable $owner_variable: $owner" >&2
      exit 1
      ;;
  esac
fi
# With no --body, `gh secret set` reads the value from stdin.
gh secret set "$name" "$@"

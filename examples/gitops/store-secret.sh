#!/bin/sh
# ctconfig's command sink: store ONE new passcode secret, read from stdin, in the CI's secret store.
#
# ctconfig runs this once per new account passcode, with the secret on stdin and
# CTCONFIG_SECRET_NAME (e.g. CT_PROD_SEGMENT_EXPORT), CTCONFIG_ADDRESS, CTCONFIG_ACCOUNT,
# CTCONFIG_ACCOUNT_ID and CTCONFIG_NAME in the environment. It never prints the secret.
# A non-zero exit marks the passcode tainted: the next plan replaces it, nothing is lost silently.
#
# Several addresses can have one name (prod-eu/braze-sync and prod_eu/braze_sync are both
# CT_PROD_EU_BRAZE_SYNC; `ctconfig validate` refuses such a config). As a second line of defence
# the script records which address owns each name and refuses to overwrite another's secret.
set -eu
name="${CTCONFIG_SECRET_NAME:?is set by ctconfig}"
address="${CTCONFIG_ADDRESS:?is set by ctconfig}"

refuse() { # OWNER: another address owns this name
  echo "store-secret.sh: $name holds the secret of $1; refusing to overwrite it with $address's" >&2
  exit 1
}

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  # A repository secret. GH_TOKEN must be allowed to write secrets and variables (GITHUB_TOKEN
  # cannot): a fine-grained token with "Secrets" and "Variables: read and write" on this repository.
  # The owner is kept in the repository variable <NAME>_CTCONFIG_ADDRESS (secrets have no metadata).
  owner_variable="${name}_CTCONFIG_ADDRESS"
  if owner=$(gh variable get "$owner_variable" --repo "$GITHUB_REPOSITORY" 2>/dev/null); then
    [ "$owner" = "$address" ] || refuse "$owner"
  else # no owner yet (a secret made before owners were recorded is taken over)
    gh variable set "$owner_variable" --repo "$GITHUB_REPOSITORY" --body "$address"
  fi
  exec gh secret set "$name" --repo "$GITHUB_REPOSITORY"
elif [ -n "${GITLAB_CI:-}" ]; then
  # A masked, protected, raw CI/CD variable of this project, through the API with $GITLAB_TOKEN
  # (a project access token with the `api` scope and the Maintainer role). The variable's
  # description names its owner, with a digest of the address the script can find again.
  secret=$(cat)
  api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/variables"
  digest=$(printf '%s' "$address" | sha256sum | cut -c1-32)
  description="ctconfig: $address (owner ctconfig-$digest)"
  store() { # METHOD URL [extra form fields]: the secret goes in as the `value` field, from stdin
    method=$1 url=$2
    shift 2
    printf '%s' "$secret" | curl --fail --silent --show-error --output /dev/null \
      --request "$method" --header "PRIVATE-TOKEN: $GITLAB_TOKEN" --form "value=<-" \
      --form "description=$description" --form masked=true --form protected=true --form raw=true \
      "$@" "$url"
  }
  # GET answers the variable (with its value: it stays in this shell) and, last, the HTTP status.
  response=$(curl --silent --show-error --write-out '\n%{http_code}' \
    --header "PRIVATE-TOKEN: $GITLAB_TOKEN" "$api/$name") || :
  newline='
'
  case "${response##*"$newline"}" in
    200)
      case "$response" in
        *"owner ctconfig-$digest"*) store PUT "$api/$name" ;;
        *"owner ctconfig-"*) refuse "another address (see the variable's description)" ;;
        *) store PUT "$api/$name" ;; # made before owners were recorded: this address takes it over
      esac
      ;;
    404) store POST "$api" --form "key=$name" ;;
    *)
      echo "store-secret.sh: could not look up the CI/CD variable $name (HTTP ${response##*"$newline"})" >&2
      exit 1
      ;;
  esac
else
  echo "store-secret.sh: no CI secret store here (expected GitHub Actions or GitLab CI)" >&2
  exit 1
fi

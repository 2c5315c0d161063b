#!/bin/sh
# ctconfig's command sink: store ONE new passcode secret, read from stdin, in the CI's secret store.
#
# ctconfig runs this once per new account passcode, with the secret on stdin and
# CTCONFIG_SECRET_NAME (e.g. CT_PROD_SEGMENT_EXPORT), CTCONFIG_ADDRESS, CTCONFIG_ACCOUNT,
# CTCONFIG_ACCOUNT_ID and CTCONFIG_NAME in the environment. It never prints the secret.
# A non-zero exit marks the passcode tainted: the next plan replaces it, nothing is lost silently.
set -eu
name="${CTCONFIG_SECRET_NAME:?is set by ctconfig}"

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  # A repository secret. GH_TOKEN must be allowed to write secrets (GITHUB_TOKEN cannot):
  # a fine-grained token with "Secrets: read and write" on this repository.
  # Use --env NAME for an environment secret or --org ORG for an organisation secret.
  exec gh secret set "$name" --repo "$GITHUB_REPOSITORY"
elif [ -n "${GITLAB_CI:-}" ]; then
  # A masked, protected, raw CI/CD variable of this project, through the API with $GITLAB_TOKEN
  # (a project access token with the `api` scope and the Maintainer role).
  secret=$(cat)
  api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/variables"
  store() { # METHOD URL [extra form fields]: the secret goes in as the `value` field, from stdin
    method=$1 url=$2
    shift 2
    printf '%s' "$secret" | curl --fail --silent --show-error --output /dev/null \
      --request "$method" --header "PRIVATE-TOKEN: $GITLAB_TOKEN" \
      --form "value=<-" --form masked=true --form protected=true --form raw=true "$@" "$url"
  }
  # Update the variable when it exists, else create it.
  store PUT "$api/$name" 2>/dev/null || store POST "$api" --form "key=$name"
else
  echo "store-secret.sh: no CI secret store here (expected GitHub Actions or GitLab CI)" >&2
  exit 1
fi

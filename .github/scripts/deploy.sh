#!/usr/bin/env bash
# The steps of .github/workflows/deploy.yml, one subcommand each, so the workflow stays
# readable and a person can run the same steps by hand (docs/operations.md).
#
#   deploy.sh credentials           write the env file and kubeconfig (mode 600) to $RUNNER_TEMP
#   deploy.sh im IMAGE ARGS...      run `investor-mimic ARGS...` from IMAGE with the env file
#   deploy.sh rollout IMAGE         point the code location's Deployment at IMAGE, wait,
#                                   and reload the location in the Dagster webserver
#   deploy.sh running-image         the image the code location runs now
#   deploy.sh health                Dagster webserver /server_info and the web app's /health
#   deploy.sh notify MESSAGE        Slack (when SLACK_WEBHOOK_URL is set) and the job summary
#
# Reads: IM_ENV_FILE, KUBECONFIG_DATA, K8S_NAMESPACE, CODE_LOCATION_DEPLOYMENT,
# DAGSTER_URL, APP_URL, SLACK_WEBHOOK_URL (see the header of deploy.yml); HEALTH_RETRIES
# (default 10, 6 s apart: a minute for a rollout to settle). Secrets are written to files,
# never echoed. investor_mimic_tests/test_deploy_script.py runs it against loopback servers.
set -euo pipefail

TMP="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
ENV_FILE="$TMP/investor-mimic.env"
export KUBECONFIG="$TMP/kubeconfig"
LOCATION="investor_mimic" # [tool.dagster] code_location_name
CONTAINER="code-location"

need() {
  if [ -z "${!1:-}" ]; then
    echo "deploy.sh: $1 is not set (GitHub environment secret or variable)" >&2
    exit 2
  fi
}

cmd="${1:?usage: deploy.sh credentials|im|rollout|running-image|health|notify ...}"
shift

case "$cmd" in
  credentials)
    need IM_ENV_FILE
    need KUBECONFIG_DATA
    (umask 077 && printf '%s\n' "$IM_ENV_FILE" > "$ENV_FILE" && printf '%s\n' "$KUBECONFIG_DATA" > "$KUBECONFIG")
    ;;

  im)
    image="${1:?image}"
    shift
    docker run --rm --env-file "$ENV_FILE" --entrypoint investor-mimic "$image" "$@"
    ;;

  rollout)
    image="${1:?image}"
    need K8S_NAMESPACE
    need CODE_LOCATION_DEPLOYMENT
    kubectl -n "$K8S_NAMESPACE" set image "deployment/$CODE_LOCATION_DEPLOYMENT" "$CONTAINER=$image"
    kubectl -n "$K8S_NAMESPACE" rollout status "deployment/$CODE_LOCATION_DEPLOYMENT" --timeout=10m
    if [ -n "${DAGSTER_URL:-}" ]; then
      # the webserver keeps its gRPC channel; ask it to reload the location now
      query='mutation ($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
        __typename ... on WorkspaceLocationEntry { loadStatus } ... on PythonError { message } } }'
      body="$(jq -n --arg q "$query" --arg name "$LOCATION" '{query: $q, variables: {name: $name}}')"
      answer="$(curl -fsS --retry 5 --retry-all-errors -H 'Content-Type: application/json' \
        -d "$body" "$DAGSTER_URL/graphql")"
      echo "$answer"
      echo "$answer" | jq -e '.data.reloadRepositoryLocation.__typename == "WorkspaceLocationEntry"' >/dev/null
    fi
    ;;

  running-image)
    need K8S_NAMESPACE
    need CODE_LOCATION_DEPLOYMENT
    kubectl -n "$K8S_NAMESPACE" get "deployment/$CODE_LOCATION_DEPLOYMENT" \
      -o "jsonpath={.spec.template.spec.containers[?(@.name==\"$CONTAINER\")].image}"
    ;;

  health)
    need DAGSTER_URL
    need APP_URL
    retries="${HEALTH_RETRIES:-10}"
    curl -fsS --retry "$retries" --retry-delay 6 --retry-all-errors "$DAGSTER_URL/server_info"
    echo
    # /health answers 503 when a required part is down: curl -f fails the step
    curl -fsS --retry "$retries" --retry-delay 6 --retry-all-errors "$APP_URL/health"
    echo
    ;;

  notify)
    message="${1:?message}"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
      echo "$message" >> "$GITHUB_STEP_SUMMARY"
    fi
    if [ -n "${SLACK_WEBHOOK_URL:-}" ]; then
      url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
      jq -n --arg text "$message <$url|run>" '{text: $text}' |
        curl -fsS --retry 3 -H 'Content-Type: application/json' -d @- "$SLACK_WEBHOOK_URL" >/dev/null
    fi
    echo "$message"
    ;;

  *)
    echo "deploy.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Deploys the auditor next to a bucket pair, in the order the two accounts need (docs/operations.md, "Deploy").
#   1. (PAIR=1 only) account B: pair-destination.yaml — the destination bucket and its policy
#   2. account A: auditor.yaml with `sam build` + `sam deploy` — function, queue, topic, alarms
#   3. (PAIR=1 only) account A: pair-source.yaml — source bucket, replication role and rule,
#      notifications to the auditor's queue
#   4. account B: audit-role.yaml — the read-only role, trusting the auditor role from step 2
# Required: SOURCE_PROFILE DESTINATION_PROFILE SOURCE_BUCKET DESTINATION_BUCKET
#           DESTINATION_ACCOUNT_ID EXTERNAL_ID. Optional: REGION (us-east-1), STACK
#           (replication-auditor), ALERT_EMAIL, REPLICATION_ROLE_NAME (s3-replication-role: the
#           role the drift check reads; with PAIR=1 the role pair-source.yaml creates and the only
#           principal pair-destination.yaml lets replicate), SOURCE_ACCOUNT_ID and
#           REPLICATE_DELETE_MARKERS (false) with PAIR=1, DRY_RUN=1 (print only).
#
# The external id never appears in this script's output or on a command line (CI logs, `set -x`,
# `ps`): it is shown masked, and reaches `sam deploy` and `aws cloudformation deploy` through
# parameter files (mode 600, deleted on exit) written while tracing is off.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tracing off while the external id is in play; back on afterwards if it was on.
quiet() { case $- in *x*) XTRACE_WAS_ON=1 ;; *) XTRACE_WAS_ON=0 ;; esac; }
{ quiet; set +x; } 2>/dev/null
missing=()
for name in SOURCE_PROFILE DESTINATION_PROFILE SOURCE_BUCKET DESTINATION_BUCKET DESTINATION_ACCOUNT_ID EXTERNAL_ID; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if [[ "${PAIR:-0}" == 1 && -z "${SOURCE_ACCOUNT_ID:-}" ]]; then missing+=(SOURCE_ACCOUNT_ID); fi
if (( ${#missing[@]} )); then
  echo "deploy: set ${missing[*]} (see docs/operations.md, Deploy)" >&2
  exit 2
fi
# The templates' own pattern (and nothing a parameter file would have to quote).
if [[ ! "$EXTERNAL_ID" =~ ^[A-Za-z0-9+=,.@:/_-]{2,1224}$ ]]; then
  echo "deploy: EXTERNAL_ID must be 2-1224 of A-Z a-z 0-9 + = , . @ : / _ -" >&2
  exit 2
fi
if (( ${#EXTERNAL_ID} >= 12 )); then
  external_id_shown="****${EXTERNAL_ID: -4} (${#EXTERNAL_ID} characters)"
else
  external_id_shown="**** (${#EXTERNAL_ID} characters)"
fi
(( XTRACE_WAS_ON )) && set -x

REGION="${REGION:-us-east-1}"
STACK="${STACK:-replication-auditor}"
REPLICATION_ROLE_NAME="${REPLICATION_ROLE_NAME:-s3-replication-role}"
REPLICATE_DELETE_MARKERS="${REPLICATE_DELETE_MARKERS:-false}"
for value in "$SOURCE_BUCKET" "$DESTINATION_BUCKET" "$DESTINATION_ACCOUNT_ID" "${ALERT_EMAIL:-}" "$REPLICATION_ROLE_NAME" "$STACK"; do
  if [[ "$value" == *[[:space:]\"\\]* ]]; then
    echo "deploy: parameter values cannot contain spaces, quotes or backslashes: $value" >&2
    exit 2
  fi
done

params_dir="$(umask 077 && mktemp -d)"
trap 'rm -rf "$params_dir"' EXIT

run() {
  echo "+ $*" >&2
  if [[ "${DRY_RUN:-0}" != 1 ]]; then "$@"; fi
}
output() { # stack profile key
  if [[ "${DRY_RUN:-0}" == 1 ]]; then echo "<$3 of $1>"; return; fi
  aws cloudformation describe-stacks --stack-name "$1" --profile "$2" --region "$REGION" \
    --query "Stacks[0].Outputs[?OutputKey=='$3'].OutputValue" --output text
}
if [[ "${DRY_RUN:-0}" != 1 ]]; then
  for tool in sam aws cargo-lambda; do
    command -v "$tool" >/dev/null || { echo "deploy: $tool not found (pip install aws-sam-cli awscli cargo-lambda)" >&2; exit 2; }
  done
fi
echo "deploy: external id $external_id_shown, passed in parameter files only" >&2

if [[ "${PAIR:-0}" == 1 ]]; then
  run aws cloudformation deploy --template-file infra/pair-destination.yaml --stack-name "$STACK-pair-destination" \
    --profile "$DESTINATION_PROFILE" --region "$REGION" \
    --parameter-overrides "DestinationBucketName=$DESTINATION_BUCKET" "SourceAccountId=$SOURCE_ACCOUNT_ID" \
      "ReplicationRoleName=$REPLICATION_ROLE_NAME" "ReplicateDeleteMarkers=$REPLICATE_DELETE_MARKERS"
fi

# sam deploy reads its parameters from a config file (it takes no parameter file of its own); the
# path is absolute, since SAM resolves a relative --config-file from the template's directory.
{ quiet; set +x; } 2>/dev/null
(umask 077; cat > "$params_dir/auditor.toml") <<EOF
version = 0.1
[deploy.deploy.parameters]
parameter_overrides = "SourceBucketName=\"$SOURCE_BUCKET\" DestinationBucketName=\"$DESTINATION_BUCKET\" DestinationAccountId=\"$DESTINATION_ACCOUNT_ID\" ExternalId=\"$EXTERNAL_ID\" AlertEmail=\"${ALERT_EMAIL:-}\" ReplicationRoleName=\"$REPLICATION_ROLE_NAME\""
EOF
(( XTRACE_WAS_ON )) && set -x

echo "  auditor parameters: SourceBucketName=$SOURCE_BUCKET DestinationBucketName=$DESTINATION_BUCKET" \
  "DestinationAccountId=$DESTINATION_ACCOUNT_ID ExternalId=$external_id_shown AlertEmail=${ALERT_EMAIL:-}" \
  "ReplicationRoleName=$REPLICATION_ROLE_NAME" >&2

# SAM's rust-cargolambda build method is a beta feature of the SAM CLI.
run sam build --template-file infra/auditor.yaml --build-dir .aws-sam/build --beta-features
run sam deploy --template-file .aws-sam/build/template.yaml --stack-name "$STACK" \
  --profile "$SOURCE_PROFILE" --region "$REGION" --resolve-s3 --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset --config-file "$params_dir/auditor.toml" --config-env deploy

queue_arn="$(output "$STACK" "$SOURCE_PROFILE" EventQueueArn)"
if [[ "${PAIR:-0}" == 1 ]]; then
  run aws cloudformation deploy --template-file infra/pair-source.yaml --stack-name "$STACK-pair-source" \
    --profile "$SOURCE_PROFILE" --region "$REGION" --capabilities CAPABILITY_NAMED_IAM \
    --parameter-overrides "SourceBucketName=$SOURCE_BUCKET" "DestinationBucketName=$DESTINATION_BUCKET" \
      "DestinationAccountId=$DESTINATION_ACCOUNT_ID" "AuditQueueArn=$queue_arn" \
      "ReplicationRoleName=$REPLICATION_ROLE_NAME" "ReplicateDeleteMarkers=$REPLICATE_DELETE_MARKERS"
elif [[ "${DRY_RUN:-0}" != 1 ]]; then
  # The event queue is replaced when its name changes (first deployed before it had one): an
  # existing bucket's notifications would then point at a queue that is gone.
  notified="$(aws s3api get-bucket-notification-configuration --bucket "$SOURCE_BUCKET" --profile "$SOURCE_PROFILE" \
    --region "$REGION" --query "QueueConfigurations[].QueueArn" --output text 2>/dev/null || true)"
  if [[ "$notified" != *"$queue_arn"* ]]; then
    echo "deploy: WARNING: $SOURCE_BUCKET's notifications do not go to $queue_arn: send them there (docs/operations.md, Deploy step 5)" >&2
  fi
fi

auditor_role_arn="$(output "$STACK" "$SOURCE_PROFILE" AuditorRoleArn)"
{ quiet; set +x; } 2>/dev/null
(umask 077; cat > "$params_dir/audit-role.json") <<EOF
["AuditorRoleArn=$auditor_role_arn", "ExternalId=$EXTERNAL_ID", "DestinationBucketName=$DESTINATION_BUCKET"]
EOF
(( XTRACE_WAS_ON )) && set -x
echo "  audit-role parameters: AuditorRoleArn=$auditor_role_arn ExternalId=$external_id_shown DestinationBucketName=$DESTINATION_BUCKET" >&2
run aws cloudformation deploy --template-file infra/audit-role.yaml --stack-name "$STACK-audit-role" \
  --profile "$DESTINATION_PROFILE" --region "$REGION" --capabilities CAPABILITY_NAMED_IAM \
  --parameter-overrides "file://$params_dir/audit-role.json"

echo "deploy: done. For an existing bucket, send its notifications to $queue_arn (docs/operations.md, Deploy step 5)." >&2

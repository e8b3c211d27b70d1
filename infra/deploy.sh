#!/usr/bin/env bash
# Deploys the auditor next to a bucket pair, in the order the two accounts need (README "Deploy").
#   1. (PAIR=1 only) account B: pair-destination.yaml — the destination bucket and its policy
#   2. account A: auditor.yaml with `sam build` + `sam deploy` — function, queue, topic, alarms
#   3. (PAIR=1 only) account A: pair-source.yaml — source bucket, replication role and rule,
#      notifications to the auditor's queue
#   4. account B: audit-role.yaml — the read-only role, trusting the auditor role from step 2
# Required: SOURCE_PROFILE DESTINATION_PROFILE SOURCE_BUCKET DESTINATION_BUCKET
#           DESTINATION_ACCOUNT_ID EXTERNAL_ID. Optional: REGION (us-east-1), STACK
#           (replication-auditor), ALERT_EMAIL, SOURCE_ACCOUNT_ID (PAIR=1), DRY_RUN=1 (print only).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for name in SOURCE_PROFILE DESTINATION_PROFILE SOURCE_BUCKET DESTINATION_BUCKET DESTINATION_ACCOUNT_ID EXTERNAL_ID; do
  [[ -n "${!name:-}" ]] || missing+=("$name")
done
if [[ "${PAIR:-0}" == 1 && -z "${SOURCE_ACCOUNT_ID:-}" ]]; then missing+=(SOURCE_ACCOUNT_ID); fi
if (( ${#missing[@]} )); then
  echo "deploy: set ${missing[*]} (see README, Deploy)" >&2
  exit 2
fi
REGION="${REGION:-us-east-1}"
STACK="${STACK:-replication-auditor}"

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

if [[ "${PAIR:-0}" == 1 ]]; then
  run aws cloudformation deploy --template-file infra/pair-destination.yaml --stack-name "$STACK-pair-destination" \
    --profile "$DESTINATION_PROFILE" --region "$REGION" \
    --parameter-overrides "DestinationBucketName=$DESTINATION_BUCKET" "SourceAccountId=$SOURCE_ACCOUNT_ID"
fi

# SAM's rust-cargolambda build method is a beta feature of the SAM CLI.
run sam build --template-file infra/auditor.yaml --build-dir .aws-sam/build --beta-features
run sam deploy --template-file .aws-sam/build/template.yaml --stack-name "$STACK" \
  --profile "$SOURCE_PROFILE" --region "$REGION" --resolve-s3 --capabilities CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND \
  --no-fail-on-empty-changeset \
  --parameter-overrides "SourceBucketName=$SOURCE_BUCKET" "DestinationBucketName=$DESTINATION_BUCKET" \
    "DestinationAccountId=$DESTINATION_ACCOUNT_ID" "ExternalId=$EXTERNAL_ID" "AlertEmail=${ALERT_EMAIL:-}"

if [[ "${PAIR:-0}" == 1 ]]; then
  queue_arn="$(output "$STACK" "$SOURCE_PROFILE" EventQueueArn)"
  run aws cloudformation deploy --template-file infra/pair-source.yaml --stack-name "$STACK-pair-source" \
    --profile "$SOURCE_PROFILE" --region "$REGION" --capabilities CAPABILITY_IAM \
    --parameter-overrides "SourceBucketName=$SOURCE_BUCKET" "DestinationBucketName=$DESTINATION_BUCKET" \
      "DestinationAccountId=$DESTINATION_ACCOUNT_ID" "AuditQueueArn=$queue_arn"
fi

auditor_role_arn="$(output "$STACK" "$SOURCE_PROFILE" AuditorRoleArn)"
run aws cloudformation deploy --template-file infra/audit-role.yaml --stack-name "$STACK-audit-role" \
  --profile "$DESTINATION_PROFILE" --region "$REGION" --capabilities CAPABILITY_NAMED_IAM \
  --parameter-overrides "AuditorRoleArn=$auditor_role_arn" "ExternalId=$EXTERNAL_ID" "DestinationBucketName=$DESTINATION_BUCKET"

echo "deploy: done. For an existing bucket, send its notifications to $(output "$STACK" "$SOURCE_PROFILE" EventQueueArn) (README, Deploy step 4)." >&2

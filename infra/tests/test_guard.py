"""The templates pass AWS's own rules: the AWS Guard Rules Registry rule sets for the services the
templates use, and then every rule of the registry (a rule about resources the templates do not have
skips), run with cfn-guard (pinned; `make guard` installs it).

The registry is not part of this repository (Apache-2.0, maintained by AWS). The tests look for
it in a `shared/guard-rules` folder beside the repository, or where GUARD_RULES points, and are
skipped with a message when it is absent. auditor.yaml is a SAM template: Guard also reads it
after the SAM transform, since the Lambda rules look at AWS::Lambda::Function.

A rule that does not fit the product is suppressed on the resource (Guard's
`Metadata: guard: SuppressedRules:`) with a `# RULE: reason` comment beside it.

CFN_NO_EXPLICIT_RESOURCE_NAMES (aws_cloudformation) ignores a resource's suppression as soon as
another resource of its types in the template is not suppressed (it then checks every one of them),
so in a template with a needed name every resource of those types carries the suppression; the
unnamed ones say so, and test_security.py holds that only the needed names exist."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess

import pytest
from cfnlint.decode import cfn_yaml

INFRA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(INFRA)
TEMPLATES = sorted(glob.glob(os.path.join(INFRA, "*.yaml")))
RULE_SETS = ["amazon_s3", "iam", "amazon_sqs", "amazon_sns", "lambda", "aws_kms", "cloudwatch"]
GUARD_RULES = os.environ.get("GUARD_RULES") or os.path.join(os.path.dirname(ROOT), "shared", "guard-rules")
RULES_DIR = os.path.join(GUARD_RULES, "rules", "aws")


def every_rule_file() -> list[str]:
    return sorted(glob.glob(os.path.join(GUARD_RULES, "rules", "**", "*.guard"), recursive=True))


def cfn_guard() -> str | None:
    local = os.path.join(ROOT, ".tools", "bin", "cfn-guard")
    return os.environ.get("CFN_GUARD") or (local if os.path.exists(local) else shutil.which("cfn-guard"))


needs_guard = pytest.mark.skipif(
    not os.path.isdir(RULES_DIR) or cfn_guard() is None,
    reason=f"AWS Guard Rules Registry not found at {GUARD_RULES} (set GUARD_RULES) or cfn-guard not installed (make guard)",
)


def suppressions(path: str) -> list[tuple[str, str]]:
    """(resource, rule) for every Guard suppression in a template."""
    found = []
    for name, resource in cfn_yaml.load(path)["Resources"].items():
        for rule in resource.get("Metadata", {}).get("guard", {}).get("SuppressedRules", []):
            found.append((name, rule))
    return found


def sam_transformed(path: str, out_dir: str) -> str:
    """The template as CloudFormation will see it after AWS::Serverless-2016-10-31, as JSON."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the function names its role; no managed policy names to look up
        def load(self):
            return {}

    template = json.loads(json.dumps(cfn_yaml.load(path)))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/bootstrap.zip"  # what `sam package` writes
    region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the translator asks boto3 for a region; nothing is called
    try:
        transformed = transform(template, {}, NoManagedPolicies())
    finally:
        if region is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = region
    target = os.path.join(out_dir, os.path.basename(path).replace(".yaml", ".sam.json"))
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(transformed, handle)
    return target


def guard_data(tmp_path) -> list[str]:
    data = []
    for path in TEMPLATES:
        with open(path, encoding="utf-8") as handle:
            is_sam = "AWS::Serverless-2016-10-31" in handle.read()
        data.append(sam_transformed(path, str(tmp_path)) if is_sam else path)
    return data


def failing_rules(rules: list[str], data: list[str]) -> dict[str, list[str]]:
    """{file: [failing rule names]} from cfn-guard's structured JSON output."""
    command = [cfn_guard(), "validate", "--output-format", "json", "--structured", "--show-summary", "none"]
    for rule in rules:
        command += ["--rules", rule]
    for path in data:
        command += ["--data", path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 19), f"cfn-guard failed to run: {result.stderr}"  # 19 = rules failed
    return {
        os.path.basename(report["name"]): [r["Rule"]["name"] for r in report["not_compliant"]]
        for report in json.loads(result.stdout)
    }


@needs_guard
@pytest.mark.parametrize("rule_set", RULE_SETS)
def test_templates_pass_the_registry_rule_set(rule_set, tmp_path):
    failures = failing_rules([os.path.join(RULES_DIR, rule_set)], guard_data(tmp_path))
    failing = {name: rules for name, rules in failures.items() if rules}
    assert not failing, f"Guard rule set {rule_set}: fix the template or suppress with a reason: {failing}"


@needs_guard
def test_templates_pass_every_rule_of_the_registry(tmp_path):
    """Not only the rule sets above: all of rules/ (e.g. aws_cloudformation, all_resources)."""
    rules = every_rule_file()
    assert len(rules) > 100, f"only {len(rules)} rules under {GUARD_RULES}/rules"
    failures = failing_rules(rules, guard_data(tmp_path))
    failing = {name: sorted(set(rules)) for name, rules in failures.items() if rules}
    assert not failing, f"Guard registry rules fail: fix the template or suppress with a reason: {failing}"


@needs_guard
@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_every_suppression_is_still_needed(path, tmp_path):
    """Removing one suppression makes its rule fail again: no stale or misspelt suppression."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    rule_files = every_rule_file()
    for resource, rule in suppressions(path):
        owner = [f for f in rule_files if re.search(rf"\brule {re.escape(rule)}\b", open(f, encoding="utf-8").read())]
        assert owner, f"{resource}: {rule} is not a rule of the registry ({GUARD_RULES}/rules)"
        # Replace this one suppression in this resource's Metadata (a placeholder keeps the list
        # non-empty, as an empty list reads differently to the rules) and run the rule alone.
        start = text.index(f"\n  {resource}:\n")
        head, tail = text[:start], text[start:]
        without = head + tail.replace(f"- {rule}\n", "- NO_SUCH_RULE\n", 1)
        assert without != text, f"{resource}: could not remove {rule} from the template text"
        variant = tmp_path / os.path.basename(path)
        variant.write_text(without, encoding="utf-8")
        data = [str(variant)]
        if "AWS::Serverless-2016-10-31" in without:
            data = [sam_transformed(str(variant), str(tmp_path))]
        failures = failing_rules(owner, data)
        assert rule in sum(failures.values(), []), f"{resource}: {rule} passes without its suppression — remove it"


@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_every_guard_suppression_says_why(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for resource, rule in suppressions(path):
        assert re.search(rf"#\s*{rule}: .{{30,}}", text), f"{resource}: write `# {rule}: <reason>` beside the suppression"


def test_access_logging_and_object_lock_are_opt_in_and_off_by_default():
    for name, bucket in (("pair-source.yaml", "SourceBucket"), ("pair-destination.yaml", "DestinationBucket")):
        template = cfn_yaml.load(os.path.join(INFRA, name))
        assert template["Parameters"]["AccessLogBucketName"]["Default"] == ""
        assert template["Conditions"]["LogAccess"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AccessLogBucketName"}, ""]}]}
        logging = template["Resources"][bucket]["Properties"]["LoggingConfiguration"]["Fn::If"]
        assert logging[0] == "LogAccess" and logging[1]["DestinationBucketName"] == {"Ref": "AccessLogBucketName"}
        assert logging[2] == {"Ref": "AWS::NoValue"}
    destination = cfn_yaml.load(os.path.join(INFRA, "pair-destination.yaml"))
    assert destination["Parameters"]["EnableObjectLock"]["Default"] == "false"
    props = destination["Resources"]["DestinationBucket"]["Properties"]
    assert props["ObjectLockEnabled"] == {"Fn::If": ["UseObjectLock", True, {"Ref": "AWS::NoValue"}]}
    lock = props["ObjectLockConfiguration"]["Fn::If"]
    assert lock[0] == "UseObjectLock"
    assert lock[1]["Rule"]["DefaultRetention"] == {"Mode": {"Ref": "ObjectLockMode"}, "Days": {"Ref": "ObjectLockRetentionDays"}}


@pytest.mark.parametrize("name", ["pair-source.yaml", "pair-destination.yaml"])
def test_insecure_transport_is_denied_with_the_boolean(name):
    policy = [r for r in cfn_yaml.load(os.path.join(INFRA, name))["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    [deny] = [s for s in policy[0]["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "DenyInsecureTransport"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}

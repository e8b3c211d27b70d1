//! IAM policy documents and a small three-valued evaluator for them.
//!
//! `doctor` asks one kind of question: "does this document let *this* principal do *this* action
//! on *this* resource?" — for a destination bucket policy, a replication role's permissions and its
//! trust policy. The answer follows the IAM user guide's evaluation logic for a single policy
//! type: an explicit `Deny` wins over any `Allow`, an `Allow` is needed, and nothing allowed means
//! an implicit deny. `Action`/`NotAction`, `Resource`/`NotResource` and `Principal`/`NotPrincipal`
//! are understood; `*` and `?` wildcards match case-insensitively in actions and case-sensitively
//! in resources. Conditions are evaluated only for the keys the caller knows for sure (a small
//! [`Context`]); anything else makes the answer [`Decision::Unknown`] rather than a guess, which
//! the checks report as WARN.
//!
//! Why not a crate: `iam-rs` evaluates conditions against a complete request context (an absent
//! key is simply false), so it would answer "allowed" or "denied" where the truth is "depends";
//! `scratchstack-aspen` brings regex, lazy_static, derive_builder and its own ARN crates for a
//! parser. Neither tells *which statement* decided, which the diagnosis needs.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// What a statement does when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The principals a statement names (`"*"` or the `AWS` / `Service` / … lists).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principals {
    /// `"Principal": "*"` (or `{"AWS": "*"}`).
    pub anyone: bool,
    /// Account ids and ARNs under `AWS`, as written.
    pub aws: Vec<String>,
    /// Service principals such as `s3.amazonaws.com`.
    pub service: Vec<String>,
    /// `Federated` and `CanonicalUser` entries (never matched by doctor's requests).
    pub other: Vec<String>,
}

/// `Principal`, `NotPrincipal`, or neither (identity policies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalElement {
    Absent,
    Principal(Principals),
    NotPrincipal(Principals),
}

/// `Action` / `NotAction` or `Resource` / `NotResource`: patterns listed, or everything but them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patterns {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

impl Patterns {
    pub fn listed(&self) -> &[String] {
        match self {
            Patterns::Listed(items) | Patterns::AllBut(items) => items,
        }
    }
}

/// One `Condition` test: `{"StringEquals": {"aws:SourceAccount": ["111111111111"]}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionClause {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: PrincipalElement,
    pub actions: Patterns,
    /// None when the statement has no `Resource` element (trust policies).
    pub resources: Option<Patterns>,
    pub conditions: Vec<ConditionClause>,
    /// The statement as written, for messages.
    pub raw: Value,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("not valid JSON ({0}); check quotes, commas and brackets")]
    Json(String),
    #[error("not an IAM policy: {0}")]
    Shape(String),
}

impl Policy {
    /// Parses a policy document (`Statement` may be one object or an array).
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))?;
        let Value::Object(map) = &document else {
            return Err(PolicyError::Shape(
                "the document is not a JSON object".into(),
            ));
        };
        let version = map
            .get("Version")
            .and_then(Value::as_str)
            .map(str::to_string);
        let statements = match map.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(item @ Value::Object(_)) => vec![item],
            Some(_) => {
                return Err(PolicyError::Shape(
                    "`Statement` must be an object or an array of objects".into(),
                ))
            }
            None => return Err(PolicyError::Shape("no `Statement` element".into())),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(index, raw)| Statement::parse(index, raw))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            version,
            statements,
        })
    }
}

fn strings(value: &Value, element: &str, label: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_string).ok_or_else(|| {
                    PolicyError::Shape(format!("{label}: `{element}` entries must be strings"))
                })
            })
            .collect(),
        _ => Err(PolicyError::Shape(format!(
            "{label}: `{element}` must be a string or an array of strings"
        ))),
    }
}

fn parse_principals(value: &Value, element: &str, label: &str) -> Result<Principals, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(Principals {
            anyone: true,
            ..Principals::default()
        }),
        Value::Object(map) => {
            let mut principals = Principals::default();
            for (kind, entries) in map {
                let entries = strings(entries, &format!("{element}.{kind}"), label)?;
                match kind.as_str() {
                    "AWS" => {
                        principals.anyone |= entries.iter().any(|e| e == "*");
                        principals.aws.extend(entries);
                    }
                    "Service" => principals.service.extend(entries),
                    "Federated" | "CanonicalUser" => principals.other.extend(entries),
                    other => {
                        return Err(PolicyError::Shape(format!(
                            "{label}: unknown principal type {other:?} (AWS, Service, Federated or CanonicalUser)"
                        )))
                    }
                }
            }
            Ok(principals)
        }
        _ => Err(PolicyError::Shape(format!(
            "{label}: `{element}` must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}"
        ))),
    }
}

fn either(
    map: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
    label: &str,
) -> Result<Option<Patterns>, PolicyError> {
    match (map.get(positive), map.get(negative)) {
        (Some(_), Some(_)) => Err(PolicyError::Shape(format!(
            "{label}: has both `{positive}` and `{negative}`"
        ))),
        (Some(v), None) => Ok(Some(Patterns::Listed(strings(v, positive, label)?))),
        (None, Some(v)) => Ok(Some(Patterns::AllBut(strings(v, negative, label)?))),
        (None, None) => Ok(None),
    }
}

impl Statement {
    fn parse(index: usize, raw: &Value) -> Result<Statement, PolicyError> {
        let Value::Object(map) = raw else {
            return Err(PolicyError::Shape(format!(
                "Statement[{index}] is not an object"
            )));
        };
        let sid = map.get("Sid").and_then(Value::as_str).map(str::to_string);
        let label = match &sid {
            Some(sid) => format!("statement {sid:?}"),
            None => format!("Statement[{index}]"),
        };
        let effect = match map.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => {
                return Err(PolicyError::Shape(format!(
                    "{label}: `Effect` must be \"Allow\" or \"Deny\", found {other:?}"
                )))
            }
        };
        let principal = match (map.get("Principal"), map.get("NotPrincipal")) {
            (Some(_), Some(_)) => {
                return Err(PolicyError::Shape(format!(
                    "{label}: has both `Principal` and `NotPrincipal`"
                )))
            }
            (Some(v), None) => {
                PrincipalElement::Principal(parse_principals(v, "Principal", &label)?)
            }
            (None, Some(v)) => {
                PrincipalElement::NotPrincipal(parse_principals(v, "NotPrincipal", &label)?)
            }
            (None, None) => PrincipalElement::Absent,
        };
        let actions = either(map, "Action", "NotAction", &label)?.ok_or_else(|| {
            PolicyError::Shape(format!("{label}: no `Action` or `NotAction` element"))
        })?;
        let resources = either(map, "Resource", "NotResource", &label)?;
        let mut conditions = Vec::new();
        if let Some(condition) = map.get("Condition") {
            let Value::Object(operators) = condition else {
                return Err(PolicyError::Shape(format!(
                    "{label}: `Condition` must be an object"
                )));
            };
            for (operator, tests) in operators {
                let Value::Object(tests) = tests else {
                    return Err(PolicyError::Shape(format!(
                        "{label}: `Condition.{operator}` must be an object of keys"
                    )));
                };
                for (key, values) in tests {
                    let values = match values {
                        Value::Bool(b) => vec![b.to_string()],
                        Value::Number(n) => vec![n.to_string()],
                        other => strings(other, &format!("Condition.{operator}.{key}"), &label)?,
                    };
                    conditions.push(ConditionClause {
                        operator: operator.clone(),
                        key: key.clone(),
                        values,
                    });
                }
            }
        }
        Ok(Statement {
            sid,
            effect,
            principal,
            actions,
            resources,
            conditions,
            raw: raw.clone(),
        })
    }

    /// `Sid` when there is one, else the position: how messages name this statement.
    pub fn label(&self, index: usize) -> String {
        match &self.sid {
            Some(sid) => format!("statement {sid:?}"),
            None => format!("Statement[{index}]"),
        }
    }
}

/// Who makes the request being evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPrincipal {
    /// An IAM principal: its account and its ARN (a role, for replication).
    Aws { account: String, arn: String },
    /// An AWS service such as `s3.amazonaws.com` (trust policies).
    Service(String),
}

/// Condition keys whose value is certain for the request (keys are case-insensitive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: BTreeMap<String, Vec<String>>,
}

impl Context {
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
        self
    }

    fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }
}

/// The request whose fate a policy decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// None for identity policies (the principal is the policy's holder).
    pub principal: Option<&'a RequestPrincipal>,
    pub action: &'a str,
    /// None for trust policies (`sts:AssumeRole` has no resource element).
    pub resource: Option<&'a str>,
    pub context: &'a Context,
}

/// Three-valued match: `Unknown` carries why it cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    Unknown(String),
}

impl Match {
    fn from_bool(b: bool) -> Match {
        if b {
            Match::Yes
        } else {
            Match::No
        }
    }

    /// Logical AND: any `No` decides, then any `Unknown`.
    fn and(self, other: Match) -> Match {
        match (self, other) {
            (Match::No, _) | (_, Match::No) => Match::No,
            (Match::Unknown(a), _) => Match::Unknown(a),
            (_, Match::Unknown(b)) => Match::Unknown(b),
            (Match::Yes, Match::Yes) => Match::Yes,
        }
    }

    fn not(self) -> Match {
        match self {
            Match::Yes => Match::No,
            Match::No => Match::Yes,
            unknown => unknown,
        }
    }
}

/// Wildcard match: `*` any run of characters, `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |c: char| {
        if ignore_case {
            c.to_ascii_lowercase()
        } else {
            c
        }
    };
    let p: Vec<char> = pattern.chars().map(fold).collect();
    let t: Vec<char> = text.chars().map(fold).collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and which text position it has consumed up to (for backtracking).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether an action pattern such as `s3:Replicate*` covers `action` (case-insensitive).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    pattern == "*" || wildcard_match(pattern, action, true)
}

fn resource_match(pattern: &str, resource: &str) -> Match {
    if pattern.contains("${") {
        return Match::Unknown(format!(
            "resource {pattern:?} uses a policy variable doctor does not resolve"
        ));
    }
    Match::from_bool(wildcard_match(pattern, resource, false))
}

/// Whether a listed principal names the requester.
pub fn principal_matches(principals: &Principals, who: &RequestPrincipal) -> bool {
    if principals.anyone {
        return true;
    }
    match who {
        RequestPrincipal::Aws { account, arn } => principals.aws.iter().any(|entry| {
            entry == account || *entry == format!("arn:aws:iam::{account}:root") || entry == arn
        }),
        RequestPrincipal::Service(service) => principals.service.iter().any(|s| s == service),
    }
}

fn condition_match(clause: &ConditionClause, context: &Context) -> Match {
    let unknown = || {
        Match::Unknown(format!(
            "condition {} on {} cannot be evaluated without the live request",
            clause.operator, clause.key
        ))
    };
    if clause.operator.contains(':') {
        // ForAnyValue: / ForAllValues: set operators.
        return unknown();
    }
    let operator = clause
        .operator
        .strip_suffix("IfExists")
        .unwrap_or(&clause.operator);
    let Some(actual) = context.get(&clause.key) else {
        return unknown();
    };
    let any = |test: &dyn Fn(&str, &str) -> bool| {
        actual
            .iter()
            .any(|a| clause.values.iter().any(|v| test(v, a)))
    };
    let equals = |v: &str, a: &str| v == a;
    let equals_ignore_case = |v: &str, a: &str| v.eq_ignore_ascii_case(a);
    let like = |v: &str, a: &str| wildcard_match(v, a, false);
    let boolean = |v: &str, a: &str| v.eq_ignore_ascii_case(a);
    match operator {
        "StringEquals" | "ArnEquals" => Match::from_bool(any(&equals)),
        "StringNotEquals" | "ArnNotEquals" => Match::from_bool(any(&equals)).not(),
        "StringEqualsIgnoreCase" => Match::from_bool(any(&equals_ignore_case)),
        "StringNotEqualsIgnoreCase" => Match::from_bool(any(&equals_ignore_case)).not(),
        "StringLike" | "ArnLike" => Match::from_bool(any(&like)),
        "StringNotLike" | "ArnNotLike" => Match::from_bool(any(&like)).not(),
        "Bool" => Match::from_bool(any(&boolean)),
        _ => unknown(),
    }
}

impl Statement {
    /// Whether this statement applies to the request (ignoring its effect).
    pub fn applies(&self, request: &Request<'_>) -> Match {
        let action = Match::from_bool(match &self.actions {
            Patterns::Listed(patterns) => {
                patterns.iter().any(|p| action_matches(p, request.action))
            }
            Patterns::AllBut(patterns) => {
                !patterns.iter().any(|p| action_matches(p, request.action))
            }
        });
        let resource = match (&self.resources, request.resource) {
            (_, None) => Match::Yes,
            // A resource policy or identity policy statement without a resource never applies.
            (None, Some(_)) => Match::No,
            (Some(Patterns::Listed(patterns)), Some(resource)) => {
                any_match(patterns.iter().map(|p| resource_match(p, resource)))
            }
            (Some(Patterns::AllBut(patterns)), Some(resource)) => {
                any_match(patterns.iter().map(|p| resource_match(p, resource))).not()
            }
        };
        let principal = match (&self.principal, request.principal) {
            (_, None) => Match::Yes,
            (PrincipalElement::Absent, Some(_)) => Match::No,
            (PrincipalElement::Principal(p), Some(who)) => {
                Match::from_bool(principal_matches(p, who))
            }
            (PrincipalElement::NotPrincipal(p), Some(who)) => {
                Match::from_bool(!principal_matches(p, who))
            }
        };
        let conditions = self
            .conditions
            .iter()
            .map(|clause| condition_match(clause, request.context))
            .fold(Match::Yes, Match::and);
        action.and(resource).and(principal).and(conditions)
    }
}

/// Logical OR over matches: any `Yes` decides, then any `Unknown`.
fn any_match(matches: impl Iterator<Item = Match>) -> Match {
    let mut result = Match::No;
    for m in matches {
        match m {
            Match::Yes => return Match::Yes,
            Match::Unknown(reason) => result = Match::Unknown(reason),
            Match::No => {}
        }
    }
    result
}

/// The outcome of evaluating a request against one or more policies of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// An explicit `Deny` applies: nothing can allow the request.
    ExplicitlyDenied,
    /// No statement allows the request (the implicit deny).
    NotAllowed,
    /// The answer depends on something doctor cannot know (a condition, a policy variable).
    Unknown,
}

/// A statement that took part in a decision: which policy, which statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deciding {
    pub policy: String,
    pub statement: String,
    /// Why the match is uncertain, for `Unknown`s.
    pub reason: Option<String>,
}

impl fmt::Display for Deciding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}", self.statement, self.policy)?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub allowing: Vec<Deciding>,
    pub denying: Vec<Deciding>,
    /// Statements that might allow or deny, depending on what doctor cannot see.
    pub uncertain: Vec<Deciding>,
}

/// Evaluates `request` against named policies of one policy type (IAM evaluation logic:
/// explicit deny, then allow, else implicit deny), keeping uncertainty visible.
pub fn evaluate(policies: &[(&str, &Policy)], request: &Request<'_>) -> Evaluation {
    let mut evaluation = Evaluation {
        decision: Decision::NotAllowed,
        allowing: Vec::new(),
        denying: Vec::new(),
        uncertain: Vec::new(),
    };
    let (mut maybe_allow, mut maybe_deny) = (false, false);
    for (name, policy) in policies {
        for (index, statement) in policy.statements.iter().enumerate() {
            let deciding = |reason| Deciding {
                policy: name.to_string(),
                statement: statement.label(index),
                reason,
            };
            match (statement.applies(request), statement.effect) {
                (Match::No, _) => {}
                (Match::Yes, Effect::Allow) => evaluation.allowing.push(deciding(None)),
                (Match::Yes, Effect::Deny) => evaluation.denying.push(deciding(None)),
                (Match::Unknown(reason), effect) => {
                    match effect {
                        Effect::Allow => maybe_allow = true,
                        Effect::Deny => maybe_deny = true,
                    }
                    evaluation.uncertain.push(deciding(Some(reason)));
                }
            }
        }
    }
    evaluation.decision = if !evaluation.denying.is_empty() {
        Decision::ExplicitlyDenied
    } else if !evaluation.allowing.is_empty() {
        if maybe_deny {
            Decision::Unknown
        } else {
            Decision::Allowed
        }
    } else if maybe_allow {
        Decision::Unknown
    } else {
        Decision::NotAllowed
    };
    evaluation
}

#[cfg(test)]
mod tests {
    //! The IAM user guide's evaluation logic, case by case, for a single policy type.
    use super::*;

    const ROLE: &str = "arn:aws:iam::111111111111:role/s3-replication-role";

    fn role() -> RequestPrincipal {
        RequestPrincipal::Aws {
            account: "111111111111".into(),
            arn: ROLE.into(),
        }
    }

    fn decide(policy: &str, action: &str, resource: &str) -> Decision {
        decide_as(
            policy,
            Some(&role()),
            action,
            Some(resource),
            &Context::default(),
        )
    }

    fn decide_as(
        policy: &str,
        who: Option<&RequestPrincipal>,
        action: &str,
        resource: Option<&str>,
        context: &Context,
    ) -> Decision {
        let policy = Policy::parse(policy).unwrap();
        evaluate(
            &[("policy", &policy)],
            &Request {
                principal: who,
                action,
                resource,
                context,
            },
        )
        .decision
    }

    fn identity(policy: &str, action: &str, resource: &str) -> Decision {
        decide_as(policy, None, action, Some(resource), &Context::default())
    }

    #[test]
    fn nothing_allowed_is_an_implicit_deny() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert_eq!(
            identity(policy, "s3:PutObject", "arn:aws:s3:::b/k"),
            Decision::NotAllowed
        );
        assert_eq!(
            identity(policy, "s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::Allowed
        );
    }

    #[test]
    fn an_explicit_deny_overrides_any_allow() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Action":"s3:*","Resource":"*"},
            {"Sid":"NoDeletes","Effect":"Deny","Action":"s3:Delete*","Resource":"arn:aws:s3:::b/*"}]}"#;
        assert_eq!(
            identity(policy, "s3:DeleteObject", "arn:aws:s3:::b/k"),
            Decision::ExplicitlyDenied
        );
        assert_eq!(
            identity(policy, "s3:DeleteObject", "arn:aws:s3:::c/k"),
            Decision::Allowed
        );
    }

    #[test]
    fn a_single_statement_object_is_a_policy_too() {
        let policy = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}}"#;
        assert_eq!(
            identity(policy, "s3:ListBucket", "arn:aws:s3:::b"),
            Decision::Allowed
        );
    }

    #[test]
    fn action_names_are_case_insensitive_and_take_wildcards() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Action":["S3:get*","s3:Replicate?bject"],"Resource":"*"}]}"#;
        assert_eq!(
            identity(policy, "s3:GetObjectVersion", "arn:aws:s3:::b/k"),
            Decision::Allowed
        );
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::b/k"),
            Decision::Allowed
        );
        assert_eq!(
            identity(policy, "s3:ReplicateDelete", "arn:aws:s3:::b/k"),
            Decision::NotAllowed
        );
        assert_eq!(
            identity(policy, "s3:PutObject", "arn:aws:s3:::b/k"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn resource_arns_are_case_sensitive_and_a_bucket_is_not_its_objects() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::Photos"}]}"#;
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::photos"),
            Decision::NotAllowed
        );
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::Photos/k"),
            Decision::NotAllowed
        );
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::Photos"),
            Decision::Allowed
        );
    }

    #[test]
    fn not_action_allows_everything_except_the_listed_actions() {
        // The guide's pattern: allow all but IAM with NotAction; NotAction is not a deny.
        let policy = r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::b/k"),
            Decision::Allowed
        );
        assert_eq!(
            identity(policy, "iam:CreateUser", "arn:aws:iam::1:user/x"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn deny_with_not_action_denies_everything_else() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","NotAction":["s3:Get*","s3:List*"],"Resource":"*"}]}"#;
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::b/k"),
            Decision::ExplicitlyDenied
        );
        assert_eq!(
            identity(policy, "s3:GetObjectVersion", "arn:aws:s3:::b/k"),
            Decision::Allowed
        );
    }

    #[test]
    fn not_resource_applies_to_every_other_resource() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Action":"s3:*","Resource":"*"},
            {"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::keep","arn:aws:s3:::keep/*"]}]}"#;
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::keep/k"),
            Decision::Allowed
        );
        assert_eq!(
            identity(policy, "s3:ReplicateObject", "arn:aws:s3:::other/k"),
            Decision::ExplicitlyDenied
        );
    }

    #[test]
    fn resource_policies_match_the_account_its_root_or_the_role() {
        for principal in [
            r#""111111111111""#,
            r#""arn:aws:iam::111111111111:root""#,
            r#"["arn:aws:iam::333333333333:root", "arn:aws:iam::111111111111:role/s3-replication-role"]"#,
        ] {
            let policy = format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":{principal}}},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/*"}}]}}"#
            );
            assert_eq!(
                decide(&policy, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
                Decision::Allowed,
                "{principal}"
            );
        }
        let other = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/*"}]}"#;
        assert_eq!(
            decide(other, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::NotAllowed
        );
        let anyone = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/*"}]}"#;
        assert_eq!(
            decide(anyone, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::Allowed
        );
    }

    #[test]
    fn a_resource_policy_statement_without_principal_applies_to_nobody() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            decide(policy, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn deny_with_not_principal_spares_only_the_listed_principals() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},
            {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:*","Resource":"*"}]}"#;
        assert_eq!(
            decide(policy, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::ExplicitlyDenied
        );
        let sparing = policy.replace("222222222222:root", "111111111111:role/s3-replication-role");
        assert_eq!(
            decide(&sparing, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::Allowed
        );
    }

    #[test]
    fn trust_policies_name_a_service_and_have_no_resource() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let s3 = RequestPrincipal::Service("s3.amazonaws.com".into());
        let lambda = RequestPrincipal::Service("lambda.amazonaws.com".into());
        let ctx = Context::default();
        assert_eq!(
            decide_as(policy, Some(&s3), "sts:AssumeRole", None, &ctx),
            Decision::Allowed
        );
        assert_eq!(
            decide_as(policy, Some(&lambda), "sts:AssumeRole", None, &ctx),
            Decision::NotAllowed
        );
    }

    #[test]
    fn conditions_on_known_keys_are_evaluated_others_are_unknown() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole",
            "Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"},"ArnLike":{"aws:SourceArn":"arn:aws:s3:::src*"}}}]}"#;
        let s3 = RequestPrincipal::Service("s3.amazonaws.com".into());
        let known = Context::default()
            .with("aws:SourceAccount", "111111111111")
            .with("aws:SourceArn", "arn:aws:s3:::src");
        assert_eq!(
            decide_as(policy, Some(&s3), "sts:AssumeRole", None, &known),
            Decision::Allowed
        );
        let wrong = Context::default()
            .with("aws:SourceAccount", "999999999999")
            .with("aws:SourceArn", "arn:aws:s3:::src");
        assert_eq!(
            decide_as(policy, Some(&s3), "sts:AssumeRole", None, &wrong),
            Decision::NotAllowed
        );
        let unknown = Context::default();
        assert_eq!(
            decide_as(policy, Some(&s3), "sts:AssumeRole", None, &unknown),
            Decision::Unknown
        );
    }

    #[test]
    fn a_deny_that_may_apply_makes_an_allow_uncertain() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/*"},
            {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::dst/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
        assert_eq!(
            decide(policy, "s3:ReplicateObject", "arn:aws:s3:::dst/k"),
            Decision::Unknown
        );
    }

    #[test]
    fn the_secure_transport_deny_does_not_block_a_tls_request() {
        let policy = r#"{"Statement":[
            {"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::dst/*"},
            {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::dst","arn:aws:s3:::dst/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        let tls = Context::default().with("aws:SecureTransport", "true");
        assert_eq!(
            decide_as(
                policy,
                Some(&role()),
                "s3:ReplicateObject",
                Some("arn:aws:s3:::dst/k"),
                &tls
            ),
            Decision::Allowed
        );
    }

    #[test]
    fn policy_variables_in_resources_are_unknown() {
        let policy = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
        assert_eq!(
            identity(policy, "s3:GetObject", "arn:aws:s3:::home/x/k"),
            Decision::Unknown
        );
    }

    #[test]
    fn wildcards_backtrack_and_question_marks_take_one_character() {
        assert!(wildcard_match(
            "arn:aws:s3:::*-replica/*",
            "arn:aws:s3:::a-replica-replica/k",
            false
        ));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match("arn:aws:s3:::b", "arn:aws:s3:::b/k", false));
    }

    #[test]
    fn malformed_documents_say_what_is_wrong() {
        assert!(matches!(Policy::parse("{"), Err(PolicyError::Json(_))));
        assert!(
            matches!(Policy::parse(r#"{"Version":"2012-10-17"}"#), Err(PolicyError::Shape(m)) if m.contains("Statement"))
        );
        assert!(matches!(
            Policy::parse(r#"{"Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}"#),
            Err(PolicyError::Shape(m)) if m.contains("Effect")
        ));
        assert!(matches!(
            Policy::parse(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"x","Resource":"*"}]}"#),
            Err(PolicyError::Shape(m)) if m.contains("both")
        ));
    }
}

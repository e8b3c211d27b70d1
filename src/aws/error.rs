//! One reading of an SDK error for every adapter: the HTTP status, the service's error code and
//! message, AWS's request ids — and for an error without a response (timeout, connection), the
//! chain of causes in their own words.
//!
//! Never the raw response or a `Debug` dump: `DisplayErrorContext` prints the whole raw response,
//! whose headers can carry an object's user metadata (`x-amz-meta-*`), into reasons, logs and
//! alerts.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::{RequestId, RequestIdExt};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::fmt;

/// What an SDK error says, safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSummary {
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub request_id: Option<String>,
    pub extended_request_id: Option<String>,
    /// For errors without a response: the causes' own messages, outermost first.
    pub causes: Vec<String>,
}

impl ErrorSummary {
    pub fn of<E>(error: &SdkError<E, HttpResponse>) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    {
        let response = matches!(error, SdkError::ServiceError(_));
        Self {
            status: status_of(error),
            code: error.code().map(str::to_string),
            message: error.message().map(str::to_string),
            request_id: error.request_id().map(str::to_string),
            extended_request_id: error.extended_request_id().map(str::to_string),
            causes: if response { Vec::new() } else { causes(error) },
        }
    }
}

/// The HTTP status the service answered, if it answered.
pub fn status_of<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error.raw_response().map(|r| r.status().as_u16())
}

/// "HTTP 403 AccessDenied: Access Denied", or "dispatch failure: io error: … refused".
impl fmt::Display for ErrorSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.causes.is_empty() {
            return f.write_str(&self.causes.join(": "));
        }
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("HTTP {status}"));
        }
        if let Some(code) = &self.code {
            parts.push(code.clone());
        }
        let head = parts.join(" ");
        match &self.message {
            Some(message) if !head.is_empty() => write!(f, "{head}: {message}"),
            Some(message) => f.write_str(message),
            None if !head.is_empty() => f.write_str(&head),
            None => f.write_str("an error without a message"),
        }
    }
}

/// The `Display` of the error and each of its sources, repeated words left out.
fn causes(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut causes: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !text.is_empty() && !causes.iter().any(|c| c == &text) {
            causes.push(text);
        }
        next = current.source();
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    #[test]
    fn a_service_error_is_status_code_and_message_never_its_headers() {
        let mut raw = HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty());
        raw.headers_mut()
            .insert("x-amz-meta-owner", "alice@example.com");
        raw.headers_mut().insert("x-amz-request-id", "REQ1");
        let error = SdkError::service_error(
            HeadObjectError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            ),
            raw,
        );
        let summary = ErrorSummary::of(&error);
        assert_eq!(summary.to_string(), "HTTP 403 AccessDenied: Access Denied");
        assert_eq!(summary.request_id.as_deref(), Some("REQ1"));
        assert!(!format!("{summary}{summary:?}").contains("alice"));
    }

    #[test]
    fn an_error_without_a_response_is_its_chain_of_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let error: SdkError<HeadObjectError, HttpResponse> = SdkError::dispatch_failure(
            aws_smithy_runtime_api::client::result::ConnectorError::io(Box::new(io)),
        );
        let text = ErrorSummary::of(&error).to_string();
        assert!(text.starts_with("dispatch failure"), "{text}");
        assert!(text.contains("Connection refused"), "{text}");
        assert!(!text.contains("DispatchFailure {"), "{text}");
    }
}

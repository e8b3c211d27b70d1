//! SNS alerts: one message per invocation that found something alarming, rendered per
//! subscriber protocol.

use crate::alert::AlertMessage;
use crate::ports::{AlertPublisher, PublishError};
use aws_sdk_sns::Client;

#[derive(Clone, Debug)]
pub struct SnsAlerts {
    client: Client,
}

impl SnsAlerts {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// SNS `MessageStructure=json`: a message per protocol (SNS API reference, Publish). `default`
/// is required; `email` gets the plain text, `https` (how Amazon Q Developer in chat
/// applications subscribes) its custom notification, `sqs` and `lambda` the findings as data.
pub fn per_protocol(message: &AlertMessage) -> Option<String> {
    let chat = message.chat.as_ref()?;
    let data = message.data.as_deref().unwrap_or(&message.body);
    Some(
        serde_json::json!({
            "default": message.body,
            "email": message.body,
            "email-json": message.body,
            "https": chat,
            "sqs": data,
            "lambda": data,
        })
        .to_string(),
    )
}

impl AlertPublisher for SnsAlerts {
    async fn publish(&self, topic_arn: &str, message: &AlertMessage) -> Result<(), PublishError> {
        let structured = per_protocol(message);
        self.client
            .publish()
            .topic_arn(topic_arn)
            .subject(&message.subject)
            .set_message_structure(structured.as_ref().map(|_| "json".to_string()))
            .message(structured.as_deref().unwrap_or(&message.body))
            .send()
            .await
            .map_err(|error| PublishError {
                operation: "sns:Publish",
                source: Box::new(error),
            })?;
        Ok(())
    }
}

//! SNS alerts: one message per invocation that found something alarming.

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

impl AlertPublisher for SnsAlerts {
    async fn publish(&self, topic_arn: &str, message: &AlertMessage) -> Result<(), PublishError> {
        self.client
            .publish()
            .topic_arn(topic_arn)
            .subject(&message.subject)
            .message(&message.body)
            .send()
            .await
            .map_err(|error| PublishError {
                operation: "sns:Publish",
                source: Box::new(error),
            })?;
        Ok(())
    }
}

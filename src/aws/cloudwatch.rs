//! CloudWatch metrics: the invocation's datapoints in one PutMetricData call (more only past
//! the API's 1000-datapoint limit).

use crate::metrics::{MetricDatum, Unit, MAX_DATUMS_PER_CALL};
use crate::ports::{MetricsPublisher, PublishError};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum as CwDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;

#[derive(Clone, Debug)]
pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

impl MetricsPublisher for CloudWatchMetrics {
    async fn put(&self, namespace: &str, data: &[MetricDatum]) -> Result<usize, PublishError> {
        let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
        let converted: Vec<CwDatum> = data
            .iter()
            .map(|datum| {
                CwDatum::builder()
                    .metric_name(datum.name)
                    .unit(match datum.unit {
                        Unit::Count => StandardUnit::Count,
                        Unit::Seconds => StandardUnit::Seconds,
                    })
                    .value(datum.value)
                    .timestamp(now)
                    .set_dimensions(Some(
                        datum
                            .dimensions
                            .iter()
                            .map(|(name, value)| {
                                Dimension::builder().name(*name).value(value).build()
                            })
                            .collect(),
                    ))
                    .build()
            })
            .collect();
        let mut calls = 0;
        for chunk in converted.chunks(MAX_DATUMS_PER_CALL) {
            self.client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|error| PublishError {
                    operation: "cloudwatch:PutMetricData",
                    source: Box::new(error),
                })?;
            calls += 1;
        }
        Ok(calls)
    }
}

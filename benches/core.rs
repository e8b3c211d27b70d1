//! In-process micro-benchmark: decode a 100-record S3 event, audit every object against an
//! in-memory S3 (no network), aggregate metrics — the per-object work of the handler itself.
//! `cargo bench --bench core` (make bench runs it and reports ns per object).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use s3_replication_auditor::alert::AlertMessage;
use s3_replication_auditor::config::Config;
use s3_replication_auditor::handler::Auditor;
use s3_replication_auditor::metrics::EmfOutput;
use s3_replication_auditor::metrics::MetricDatum;
use s3_replication_auditor::ports::{AlertPublisher, MetricsPublisher, PublishError};
use serde_json::{json, Value};

#[path = "../tests/common/fakes.rs"]
#[allow(dead_code)]
mod fakes;

/// Metrics go nowhere (the cost measured is building them, not sending them).
struct Discard;

impl MetricsPublisher for Discard {
    async fn put(&self, _namespace: &str, data: &[MetricDatum]) -> Result<usize, PublishError> {
        Ok(usize::from(!data.is_empty()))
    }
}

impl AlertPublisher for Discard {
    async fn publish(&self, _topic: &str, _message: &AlertMessage) -> Result<(), PublishError> {
        Ok(())
    }
}

fn event(n: usize) -> Value {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": "2026-11-24T10:00:00.000Z",
                "eventName": "ObjectCreated:Put", "userIdentity": {}, "requestParameters": {},
                "s3": {"bucket": {"name": "acme-screenshots"}, "object": {"key": format!("Screen+Shot+{i}.png"), "versionId": format!("v{i}")}}})
        })
        .collect();
    json!({ "Records": records })
}

fn handle(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        destination_bucket: Some("acme-screenshots-replica".into()),
        pending_wait: std::time::Duration::ZERO,
        ..Config::default()
    };
    let auditor = Auditor::new(
        config,
        fakes::EverythingReplicated::default(),
        Discard,
        Discard,
        EmfOutput::Stderr,
    );
    let payload = event(100);
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(100));
    group.bench_function("handle_100_objects", |b| {
        b.iter(|| runtime.block_on(auditor.handle(&payload, None)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, handle);
criterion_main!(benches);

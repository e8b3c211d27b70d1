//! `replication-auditor`: the Lambda function and the CLI in one binary (see `runtime`).

fn main() -> std::process::ExitCode {
    s3_replication_auditor::runtime::main()
}

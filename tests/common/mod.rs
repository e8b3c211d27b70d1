//! Shared helpers for the integration tests: in-memory fakes of the ports (for handler tests
//! over `events/`) and the local world harness (for tests against moto + the engine).

#![allow(dead_code)]

pub mod fakes;
pub mod world;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where the real AWS event samples published by others are: `REAL_EVENTS_DIR`, else
/// `shared/real-events/events` in the folder that holds the repository (where CI lays them).
pub fn real_events_dir() -> PathBuf {
    std::env::var_os("REAL_EVENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the repository has a parent folder")
                .join("shared")
                .join("real-events")
                .join("events")
        })
}

/// Every sample AWS sends as it is: (file name, event), sorted by name. SAM CLI's mustache
/// templates (`{{…}}`, rendered by SAM, not sent by AWS) and its defaults file are left out.
/// `None`, with a message saying so, where the samples are absent (a clone elsewhere).
pub fn real_event_samples() -> Option<Vec<(String, Value)>> {
    let dir = real_events_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "skipped: no real AWS event samples at {} (set REAL_EVENTS_DIR to run these checks)",
            dir.display()
        );
        return None;
    };
    let mut samples = Vec::new();
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        if !name.ends_with(".json") || text.contains("{{") || name.contains("event-mapping") {
            continue;
        }
        samples.push((name, serde_json::from_str(&text).expect("a JSON sample")));
    }
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    Some(samples)
}

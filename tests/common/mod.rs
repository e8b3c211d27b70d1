//! Shared helpers for the integration tests: in-memory fakes of the ports (for handler tests
//! over `events/`) and the local world harness (for tests against moto + the engine).

#![allow(dead_code)]

pub mod fakes;
pub mod world;

//! Why a reconcile stopped.

use super::manifest::InventoryError;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("cannot use the spill directory {path}: {source}")]
    Spill {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Mismatch(String),
    /// The destination did not fit the memory budget after all (the join then spills).
    #[error("the destination inventory exceeds the memory budget")]
    OverBudget,
    #[error("cannot write the re-drive manifest {path}: {source}")]
    Redrive {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

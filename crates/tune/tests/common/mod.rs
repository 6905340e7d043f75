//! Shared test data.
pub mod feedback;

//! Child-level analysis built on Sprout's three engines.
//!
//! The engines (`sprout-causal`, `sprout-forecast`, `sprout-chrono`) know nothing about
//! children; this crate turns one child's stored data ([`ChildData`]: samples, school
//! events, interventions, sleep episodes, in the child's time zone) into what a parent
//! is shown: the next hours of stress and the next nights of sleep ([`forecast`]), the
//! chronotype ([`chronotype`]), and what each intervention does to this child's stress
//! ([`effects`]), with the uncertainty of each and "not enough data yet" where that is
//! the truth. Pure: data in, result out; the server loads the data and caches results.

pub mod calendar;
pub mod chronotype;
mod data;
pub mod days;
pub mod effects;
pub mod forecast;
pub mod moments;
pub mod nights;
pub mod patterns;
pub mod pooling;

pub use data::{ChildData, InsightError};

//! API tests: the real server on a random port, against each backend.

mod helpers;

mod experiments;

mod authorization;
mod ingestion;
mod insights;
mod live;
mod operations;
mod privacy;
mod recommendations;
mod scaleout;
mod validation;

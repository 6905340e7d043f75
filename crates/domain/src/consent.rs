//! Consent per child and purpose: what a family allows Sprout to do with a child's data.

use crate::time::clip;
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The uses of a child's data a family decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Accepting the child's wearable data at all.
    DataCollection,
    /// Analyses and advice based on the child's own data.
    Personalisation,
    /// Sending recommendation text prompts to a remote model endpoint.
    RemoteModel,
    /// Fine-tuning models on the family's feedback.
    Training,
    /// Including the child in A/B experiments of new model versions.
    Experiments,
}

impl ConsentPurpose {
    pub const ALL: [ConsentPurpose; 5] = [
        Self::DataCollection,
        Self::Personalisation,
        Self::RemoteModel,
        Self::Training,
        Self::Experiments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DataCollection => "data_collection",
            Self::Personalisation => "personalisation",
            Self::RemoteModel => "remote_model",
            Self::Training => "training",
            Self::Experiments => "experiments",
        }
    }

    /// What holds until the family decides: adding a child to collect and analyse their
    /// data is consent to that; anything that sends data elsewhere, trains on it or
    /// experiments with it needs an explicit yes.
    pub fn default_granted(self) -> bool {
        matches!(self, Self::DataCollection | Self::Personalisation)
    }
}

impl fmt::Display for ConsentPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConsentPurpose {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "purpose",
                format!(
                    "'{}' is not one of data_collection, personalisation, remote_model, training, experiments",
                    clip(s)
                ),
            )
        })
    }
}

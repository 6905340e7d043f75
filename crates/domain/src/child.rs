//! Children and the people around them: names, birth dates, time zones, logins.

use crate::time::clip;
use crate::{ChildId, FamilyId, InterventionKind, Sensitive, ValidationError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

const MAX_NAME_CHARS: usize = 60;
/// Sprout is for children and adolescents; an older "child" is a data-entry mistake.
const MAX_CHILD_AGE_YEARS: i32 = 19;
const MAX_EMAIL_LEN: usize = 254;
/// Long enough to resist guessing, short enough that parents do not write it down.
const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 256;

/// An IANA time zone (`Europe/Berlin`); everything about clock time uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(chrono_tz::Tz);

impl Timezone {
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        chrono_tz::Tz::from_str(name).map(Self).map_err(|_| {
            ValidationError::new(
                "timezone",
                format!("'{}' is not an IANA time zone (e.g. Europe/Berlin)", clip(name)),
            )
        })
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Timezone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Timezone::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A child's display name: what the parent calls them in the app. Never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayName(Sensitive<String>);

impl DisplayName {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::new("display_name", "is empty"));
        }
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(ValidationError::new(
                "display_name",
                format!("is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "display_name",
                "contains control characters",
            ));
        }
        Ok(Self(Sensitive::new(trimmed)))
    }

    pub fn as_str(&self) -> &str {
        self.0.expose()
    }
}

/// A login e-mail address, trimmed and lower-cased so logins are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(Sensitive<String>);

impl Email {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= MAX_EMAIL_LEN
            && !email.chars().any(char::is_whitespace)
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
        if valid {
            Ok(Self(Sensitive::new(email)))
        } else {
            Err(ValidationError::new("email", "is not an e-mail address"))
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.expose()
    }
}

/// A password a parent chose; it never prints.
#[derive(Debug, Clone)]
pub struct Password(Sensitive<String>);

impl Password {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let chars = text.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        Ok(Self(Sensitive::new(text)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// A validated new child.
#[derive(Debug, Clone)]
pub struct NewChild {
    pub display_name: DisplayName,
    pub birth_date: NaiveDate,
    pub timezone: Timezone,
}

impl NewChild {
    pub fn parse(
        display_name: &str,
        birth_date: &str,
        timezone: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let display_name = DisplayName::parse(display_name)?;
        let birth_date = NaiveDate::parse_from_str(birth_date.trim(), "%Y-%m-%d").map_err(|_| {
            ValidationError::new(
                "birth_date",
                format!("'{}' is not a date YYYY-MM-DD", clip(birth_date)),
            )
        })?;
        let today = now.date_naive();
        if birth_date > today {
            return Err(ValidationError::new("birth_date", "is in the future"));
        }
        if today
            .years_since(birth_date)
            .is_some_and(|age| age > MAX_CHILD_AGE_YEARS as u32)
        {
            return Err(ValidationError::new(
                "birth_date",
                format!("makes the child older than {MAX_CHILD_AGE_YEARS}"),
            ));
        }
        let timezone = Timezone::parse(timezone)?;
        Ok(Self {
            display_name,
            birth_date,
            timezone,
        })
    }
}

/// A stored child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Child {
    pub id: ChildId,
    pub family_id: FamilyId,
    pub display_name: DisplayName,
    pub birth_date: NaiveDate,
    pub timezone: Timezone,
    /// `early_bird`, `intermediate` or `night_owl` once known.
    pub chronotype: Option<String>,
    /// What the family says the child likes (preferred when it works).
    pub preferred_interventions: Vec<InterventionKind>,
    /// What the family says the child should not be offered (never suggested).
    pub avoided_interventions: Vec<InterventionKind>,
    pub created_at: DateTime<Utc>,
}

/// Largest number of kinds a family can list as liked or avoided (there are six kinds).
const MAX_PREFERENCES: usize = InterventionKind::ALL.len();

/// What a family says about the kinds of activity for one child, validated: known
/// kinds, each at most once, none both liked and avoided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Preferences {
    pub liked: Vec<InterventionKind>,
    pub avoided: Vec<InterventionKind>,
}

impl Preferences {
    pub fn parse(liked: &[String], avoided: &[String]) -> Result<Self, ValidationError> {
        let kinds =
            |field: &'static str, names: &[String]| -> Result<Vec<InterventionKind>, ValidationError> {
                if names.len() > MAX_PREFERENCES {
                    return Err(ValidationError::new(
                        field,
                        format!("lists more than {MAX_PREFERENCES} kinds"),
                    ));
                }
                let mut kinds = Vec::new();
                for name in names {
                    let kind: InterventionKind = name
                        .parse()
                        .map_err(|e: ValidationError| ValidationError::new(field, e.reason))?;
                    if !kinds.contains(&kind) {
                        kinds.push(kind);
                    }
                }
                Ok(kinds)
            };
        let (liked, avoided) = (kinds("liked", liked)?, kinds("avoided", avoided)?);
        if let Some(both) = liked.iter().find(|k| avoided.contains(k)) {
            return Err(ValidationError::new(
                "avoided",
                format!("'{}' is both liked and avoided", both.as_str()),
            ));
        }
        Ok(Self { liked, avoided })
    }
}

impl Child {
    /// Age in whole years at `on`.
    pub fn age_years(&self, on: NaiveDate) -> u32 {
        on.years_since(self.birth_date).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("fixed time")
    }

    #[test]
    fn child_fields_are_validated() {
        assert!(NewChild::parse("Mia", "2017-05-02", "Europe/Berlin", now()).is_ok());
        assert_eq!(
            NewChild::parse(" ", "2017-05-02", "Europe/Berlin", now())
                .expect_err("invalid")
                .field,
            "display_name"
        );
        assert_eq!(
            NewChild::parse("Mia", "2027-05-02", "Europe/Berlin", now())
                .expect_err("invalid")
                .field,
            "birth_date"
        );
        assert_eq!(
            NewChild::parse("Mia", "1990-05-02", "Europe/Berlin", now())
                .expect_err("invalid")
                .field,
            "birth_date"
        );
        assert_eq!(
            NewChild::parse("Mia", "02/05/2017", "Europe/Berlin", now())
                .expect_err("invalid")
                .field,
            "birth_date"
        );
        assert_eq!(
            NewChild::parse("Mia", "2017-05-02", "Mars/Olympus", now())
                .expect_err("invalid")
                .field,
            "timezone"
        );
    }

    #[test]
    fn secrets_and_names_do_not_print() {
        let name = DisplayName::parse("Mia").expect("valid");
        assert!(!format!("{name:?}").contains("Mia"));
        let password = Password::parse("correct horse battery").expect("valid");
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            Email::parse(" Parent@Example.ORG ").expect("valid").as_str(),
            "parent@example.org"
        );
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@c.de").is_err());
    }
}

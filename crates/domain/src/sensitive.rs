//! Values that must stay out of logs: names, e-mail addresses, passwords, tokens,
//! connection strings with credentials.

use std::fmt;

/// A value that never prints: its `Debug` shows only that something is there, so a
/// struct holding one can derive `Debug` and be logged safely.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: impl Into<T>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

#[cfg(test)]
mod tests {
    use super::Sensitive;

    #[test]
    fn it_never_prints() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            email: Sensitive<String>,
        }
        let login = Login {
            email: Sensitive::new("anna@example.org"),
        };
        assert_eq!(format!("{login:?}"), "Login { email: **REDACTED** }");
        assert_eq!(login.email.expose(), "anna@example.org");
    }
}

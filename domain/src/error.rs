//! The errors a rule can give, with a stable machine code and a message in both service languages.
//! The HTTP layer maps them to problem responses; nothing here knows about status codes.

use std::borrow::Cow;

/// A message in the two languages the service speaks: Chinese (the default) and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub zh: Cow<'static, str>,
    pub en: Cow<'static, str>,
}

impl Text {
    pub const fn new(zh: &'static str, en: &'static str) -> Self {
        Self {
            zh: Cow::Borrowed(zh),
            en: Cow::Borrowed(en),
        }
    }

    pub fn owned(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: Cow::Owned(zh.into()),
            en: Cow::Owned(en.into()),
        }
    }
}

/// One field that failed a rule: which field (a JSON pointer-like dotted path), why (a stable
/// code) and how to say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: Text,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: Text) -> Self {
        Self {
            field: field.into(),
            code,
            message,
        }
    }

    /// Re-roots the error under a parent field, so a newtype's error names the request field.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

/// What a business rule can refuse. Each variant keeps a stable `code` for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is well-formed but breaks a rule (HTTP 422).
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// The record does not exist, or the caller may not know that it does (HTTP 404).
    #[error("not found: {code}")]
    NotFound { code: &'static str, message: Text },
    /// The request clashes with the current state (HTTP 409).
    #[error("conflict: {code}")]
    Conflict { code: &'static str, message: Text },
    /// The caller is known but may not do this (HTTP 403).
    #[error("forbidden: {code}")]
    Forbidden { code: &'static str, message: Text },
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, code: &'static str, message: Text) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }
}

impl From<FieldError> for DomainError {
    fn from(e: FieldError) -> Self {
        Self::Validation(vec![e])
    }
}

/// Collects field errors so that a request reports all its broken fields at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the parsed value, or records the error under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, FieldError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e.at(field));
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Returns the built value when every check passed.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, DomainError> {
        if self.errors.is_empty()
            && let Some(v) = build()
        {
            return Ok(v);
        }
        Err(DomainError::Validation(self.errors))
    }
}

//! Errors of headless commands, with the sysexits-style code each exits with.

use crate::store::StoreError;
use crate::tree::TreeError;
use std::fmt;

/// Exit codes: 0 ok, 1 failure, 2 usage, 65 bad input data, 66 missing input, 69 backend
/// unavailable, 74 I/O error, 75 temporary failure (file locked, server busy), 78 bad config.
pub mod code {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 65;
    pub const NO_INPUT: u8 = 66;
    pub const UNAVAILABLE: u8 = 69;
    pub const IO: u8 = 74;
    pub const TEMP_FAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// A failed command: a message for stderr and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(code::USAGE, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> CliError {
        CliError::new(e.exit_code(), e.to_string())
    }
}

impl From<TreeError> for CliError {
    fn from(e: TreeError) -> CliError {
        let code = match e {
            TreeError::NoSuchNode(_) | TreeError::BadPattern(_) => code::USAGE,
            _ => code::FAILURE,
        };
        CliError::new(code, e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

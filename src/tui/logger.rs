//! A tiny logger that appends to a file in the state directory: the terminal belongs to
//! the UI, so nothing is ever logged to it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct FileLogger {
    file: Mutex<File>,
    level: log::LevelFilter,
}

impl log::Log for FileLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = crate::tree::system_clock();
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(
                f,
                "{now} {:<5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {
        if let Ok(mut f) = self.file.lock() {
            let _ = f.flush();
        }
    }
}

/// tloom's state directory: `$TLOOM_STATE_DIR`, else `$XDG_STATE_HOME/tloom` (or the
/// platform's equivalent).
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TLOOM_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().ok()?;
    Some(
        base.state_dir()
            .unwrap_or_else(|| base.data_dir())
            .join("tloom"),
    )
}

/// Start logging to `<state dir>/tloom.log` (level from $TLOOM_LOG, default info).
/// Returns the log file's path, or None when no file could be opened (then nothing logs).
pub fn init() -> Option<PathBuf> {
    let dir = state_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("tloom.log");
    init_at(&path).then_some(path)
}

fn init_at(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().create(true).append(true).open(path) else {
        return false;
    };
    let level = match std::env::var("TLOOM_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("trace") => log::LevelFilter::Trace,
        Ok("warn") => log::LevelFilter::Warn,
        _ => log::LevelFilter::Info,
    };
    let logger = Box::new(FileLogger {
        file: Mutex::new(file),
        level,
    });
    if log::set_boxed_logger(logger).is_ok() {
        log::set_max_level(level);
        true
    } else {
        false
    }
}

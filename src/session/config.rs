//! The TOML config file: backends, sampling defaults, UI options and key overrides.
//! A bad key or value never stops tloom: the section falls back to its defaults and the
//! problem is reported at start, in the status bar and the log.

use super::backends::{BackendConfig, CandleConfig};
use crate::engine::SamplingParams;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// User key overrides: context name -> key name -> action name (or "none").
pub type KeyOverrides = BTreeMap<String, BTreeMap<String, String>>;

pub const DEFAULT_CONFIG: &str = include_str!("../../assets/config.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    pub mouse: bool,
    pub theme: ThemeName,
    pub autosave: bool,
    pub trim_prompt: bool,
    pub starter_prompt: String,
    /// Block multiverse: tokens deep, children per token, and the smallest whole-path
    /// probability kept (clamped to 1-8, 1-16 and 0-1 when used).
    pub multiverse_depth: usize,
    pub multiverse_width: usize,
    pub multiverse_cutoff: f32,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            mouse: true,
            theme: ThemeName::Dark,
            autosave: true,
            trim_prompt: true,
            starter_prompt: "The old lighthouse keeper had kept one secret for forty years.".into(),
            multiverse_depth: 3,
            multiverse_width: 4,
            multiverse_cutoff: 0.01,
        }
    }
}

/// The whole configuration, with defaults for everything.
#[derive(Debug, Clone)]
pub struct Config {
    /// Name of the backend generations use.
    pub backend: String,
    pub backends: BTreeMap<String, BackendConfig>,
    pub sampling: SamplingParams,
    pub ui: UiConfig,
    pub keys: KeyOverrides,
    /// Where it was read from (None: built-in defaults only).
    pub path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let mut backends = BTreeMap::new();
        backends.insert(
            "local".to_string(),
            BackendConfig::Candle(CandleConfig::default()),
        );
        Config {
            backend: "local".into(),
            backends,
            sampling: SamplingParams::default(),
            ui: UiConfig::default(),
            keys: KeyOverrides::new(),
            path: None,
        }
    }
}

/// The config file to read: `explicit` (--config), else $TLOOM_CONFIG, else the XDG config
/// directory's `tloom/config.toml`.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("TLOOM_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy()
        .ok()
        .map(|b| b.config_dir().join("tloom/config.toml"))
}

/// Read the config. A missing default file is fine (defaults); a missing explicit file, an
/// unreadable one, or bad TOML is an error. Bad sections and unknown keys are warnings.
pub fn load(explicit: Option<&Path>) -> Result<(Config, Vec<String>), String> {
    let Some(path) = config_path(explicit) else {
        return Ok((Config::default(), Vec::new()));
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && explicit.is_none()
                && std::env::var_os("TLOOM_CONFIG").is_none() =>
        {
            return Ok((Config::default(), Vec::new()));
        }
        Err(e) => return Err(format!("{}: cannot read the config: {e}", path.display())),
    };
    let (mut config, warnings) = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    config.path = Some(path.clone());
    let warnings = warnings
        .into_iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    Ok((config, warnings))
}

/// Parse config text. Only broken TOML is an error; everything else degrades to defaults
/// with a warning naming the key and the problem.
pub fn parse(text: &str) -> Result<(Config, Vec<String>), String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not valid TOML: {}", e.message()))?;
    let mut config = Config::default();
    let mut warnings = Vec::new();
    for (key, value) in table {
        match key.as_str() {
            "backend" => match value.as_str() {
                Some(name) => config.backend = name.to_string(),
                None => warnings.push(format!(
                    "backend must be a backend name in quotes, not {value}"
                )),
            },
            "backends" => read_backends(value, &mut config, &mut warnings),
            "sampling" => section(value, "sampling", &mut config.sampling, &mut warnings),
            "ui" => section(value, "ui", &mut config.ui, &mut warnings),
            "keys" => section(value, "keys", &mut config.keys, &mut warnings),
            other => warnings.push(format!(
                "unknown key {other:?} (known: backend, backends, sampling, ui, keys)"
            )),
        }
    }
    if let Err(problem) = check_sampling(&config.sampling) {
        warnings.push(format!("[sampling]: {problem}; using the defaults"));
        config.sampling = SamplingParams::default();
    }
    if !config.backends.contains_key(&config.backend) {
        warnings.push(format!(
            "backend {:?} is not configured (known: {}); using \"local\"",
            config.backend,
            config
                .backends
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
        config.backend = "local".into();
        config
            .backends
            .entry("local".into())
            .or_insert_with(|| BackendConfig::Candle(CandleConfig::default()));
    }
    Ok((config, warnings))
}

/// Read a section key by key over the defaults, so one bad value costs only that key.
fn section<T>(value: toml::Value, name: &str, slot: &mut T, warnings: &mut Vec<String>)
where
    T: for<'de> Deserialize<'de> + serde::Serialize,
{
    let toml::Value::Table(table) = value else {
        warnings.push(format!("[{name}] must be a table"));
        return;
    };
    let mut merged = match toml::Value::try_from(&*slot) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    for (key, v) in table {
        let mut trial = merged.clone();
        trial.insert(key.clone(), v);
        match toml::Value::Table(trial.clone()).try_into::<T>() {
            Ok(_) => merged = trial,
            Err(e) => warnings.push(format!(
                "[{name}] {key}: {}; keeping the default",
                e.message()
            )),
        }
    }
    if let Ok(v) = toml::Value::Table(merged).try_into::<T>() {
        *slot = v;
    }
}

fn read_backends(value: toml::Value, config: &mut Config, warnings: &mut Vec<String>) {
    let toml::Value::Table(table) = value else {
        warnings.push("[backends] must be a table of named backends".into());
        return;
    };
    for (name, body) in table {
        match body.try_into::<BackendConfig>() {
            Ok(BackendConfig::OpenAiCompletions(c)) if c.validate().is_err() => {
                let problem = c
                    .validate()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                warnings.push(format!(
                    "[backends.{name}]: {problem}; this backend is left out"
                ));
            }
            Ok(b) => {
                config.backends.insert(name, b);
            }
            Err(e) => warnings.push(format!(
                "[backends.{name}]: {}; this backend is left out",
                e.message()
            )),
        }
    }
}

/// Sampling values that make sense; the message names the bad value.
pub fn check_sampling(p: &SamplingParams) -> Result<(), String> {
    if p.n == 0 || p.n > 64 {
        return Err(format!("n = {} (must be 1 to 64)", p.n));
    }
    if p.max_tokens == 0 {
        return Err("max_tokens = 0 (must be at least 1)".into());
    }
    if !(p.temperature >= 0.0 && p.temperature.is_finite()) {
        return Err(format!(
            "temperature = {} (must be 0 or more)",
            p.temperature
        ));
    }
    if !(p.top_p > 0.0 && p.top_p <= 1.0) {
        return Err(format!(
            "top_p = {} (must be above 0 and at most 1)",
            p.top_p
        ));
    }
    if !(0.0..1.0).contains(&p.min_p) {
        return Err(format!(
            "min_p = {} (must be 0 or more and below 1)",
            p.min_p
        ));
    }
    if !(p.repetition_penalty > 0.0 && p.repetition_penalty.is_finite()) {
        return Err(format!(
            "repetition_penalty = {} (must be above 0)",
            p.repetition_penalty
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_default_config_parses_without_warnings() {
        let (config, warnings) = parse(DEFAULT_CONFIG).expect("parses");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.backend, "local");
        assert_eq!(config.sampling, SamplingParams::default());
        assert_eq!(config.ui, UiConfig::default());
    }

    #[test]
    fn bad_values_fall_back_per_section_with_a_clear_warning() {
        let text = r#"
            backend = "gpu"
            colour = "blue"
            [sampling]
            temperature = "hot"
            [ui]
            mouse = false
            [backends.gpu]
            kind = "openai-completions"
            base_url = "http://127.0.0.1:9/v1"
            [backends.bad]
            kind = "telepathy"
        "#;
        let (config, warnings) = parse(text).expect("valid TOML");
        assert_eq!(config.backend, "gpu");
        assert!(!config.ui.mouse);
        assert_eq!(config.sampling, SamplingParams::default());
        assert!(
            warnings.iter().any(|w| w.contains("colour")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("[sampling]") && w.contains("temperature")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("[backends.bad]")),
            "{warnings:?}"
        );
        assert!(parse("backend = ").is_err());
        let (config, warnings) = parse("backend = \"nowhere\"").expect("valid");
        assert_eq!(config.backend, "local");
        assert!(warnings[0].contains("nowhere"));
        let (_, warnings) = parse("[sampling]\nn = 0").expect("valid");
        assert!(warnings[0].contains("n = 0"), "{warnings:?}");
    }
}

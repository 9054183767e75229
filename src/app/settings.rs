//! The sampling settings kept with the loom: saved into the file's top-level `sampling`
//! field (docs/file-format.md) and read back when the file is opened, so a loom reopens
//! with the n, max tokens, temperature, ... and seed mode it was left with. A new loom (no
//! field) starts from the config's defaults; a field that does not parse or has a bad value
//! is reported and the config's defaults are used.

use super::state::{App, SeedMode};
use crate::engine::SamplingParams;
use crate::session::config::check_sampling;
use crate::tree::Loom;
use serde_json::{Value, json};

/// The loom's top-level field.
const FIELD: &str = "sampling";

/// The settings stored in `loom`, if any: the sampling values and the seed mode, or why
/// they cannot be used.
pub fn stored(
    loom: &Loom,
    defaults: &SamplingParams,
) -> Option<Result<(SamplingParams, SeedMode), String>> {
    let v = loom.extra.get(FIELD)?;
    Some(read(v, defaults))
}

fn read(v: &Value, defaults: &SamplingParams) -> Result<(SamplingParams, SeedMode), String> {
    // Fields the file lacks keep the config's values.
    let mut merged = serde_json::to_value(defaults).map_err(|e| e.to_string())?;
    let (Value::Object(base), Value::Object(given)) = (&mut merged, v) else {
        return Err("the file's sampling settings are not an object".into());
    };
    for (k, val) in given {
        if k != "seed_mode" {
            base.insert(k.clone(), val.clone());
        }
    }
    let params: SamplingParams = serde_json::from_value(merged)
        .map_err(|e| format!("the file's sampling settings do not read: {e}"))?;
    check_sampling(&params).map_err(|e| format!("the file's sampling settings: {e}"))?;
    let seed_mode = match given.get("seed_mode") {
        Some(Value::Number(n)) => n.as_u64().map_or(SeedMode::Random, SeedMode::Fixed),
        _ => SeedMode::Random,
    };
    Ok((params, seed_mode))
}

/// Writes the app's settings into its loom (before a save).
pub fn remember(app: &mut App) {
    let mut v = serde_json::to_value(&app.sampling).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        // The seed of the last generation is recorded on its nodes; the file keeps the mode.
        map.remove("seed");
        map.insert(
            "seed_mode".into(),
            match app.seed_mode {
                SeedMode::Random => json!("random"),
                SeedMode::Fixed(s) => json!(s),
            },
        );
        app.loom.extra.insert(FIELD.into(), v);
    }
}

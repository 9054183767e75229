//! `tloom import` and `tloom export`: trees in from other looms' files, trees and paths out
//! to other formats. Nothing is written when the input is bad.

use super::args::{ExportArgs, ImportArgs};
use super::error::{CliError, CliResult, code};
use super::session::read_loom;
use crate::store::export::{self, ExportError, ExportOptions};
use crate::store::import::{self, ImportedTree};
use crate::store::{self, FileLock, atomic::write_atomic};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn import(args: ImportArgs) -> CliResult {
    let src = &args.src;
    let bytes = std::fs::read(src).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            code::NO_INPUT
        } else {
            code::IO
        };
        CliError::new(code, format!("{}: cannot read: {e}", src.display()))
    })?;
    let trees = import::import(&bytes, args.from)
        .map_err(|e| CliError::new(code::DATA, format!("{}: {e}", src.display())))?;
    let trees = choose(trees, &args)?;
    let targets = targets(&trees, &args)?;
    if !args.force
        && let Some(existing) = targets.iter().flatten().find(|p| p.exists())
    {
        return Err(CliError::new(
            code::FAILURE,
            format!(
                "{}: already exists; use --force to replace it (nothing was written)",
                existing.display()
            ),
        ));
    }
    for (tree, target) in trees.iter().zip(&targets) {
        for w in &tree.warnings {
            eprintln!("tloom: {}: {w}", src.display());
        }
        match target {
            None => std::io::stdout()
                .write_all(&store::to_bytes(&tree.loom))
                .map_err(|e| CliError::new(code::IO, format!("cannot write to stdout: {e}")))?,
            Some(path) => {
                let _lock = FileLock::acquire(path)?;
                store::save(path, &tree.loom)?;
                eprintln!(
                    "tloom: wrote {} ({} nodes)",
                    path.display(),
                    tree.loom.len()
                );
            }
        }
    }
    Ok(())
}

/// The trees to write: the named note, all of them (--all), or the only one.
fn choose(mut trees: Vec<ImportedTree>, args: &ImportArgs) -> CliResult<Vec<ImportedTree>> {
    let names = || {
        trees
            .iter()
            .map(|t| format!("{:?}", t.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(wanted) = &args.note {
        let hit = trees.iter().position(|t| {
            t.name == *wanted
                || t.name.strip_suffix(".md") == Some(wanted.as_str())
                || Path::new(&t.name)
                    .file_stem()
                    .is_some_and(|s| s == wanted.as_str())
        });
        return match hit {
            Some(i) => Ok(vec![trees.swap_remove(i)]),
            None => Err(CliError::usage(format!(
                "{}: no note named {wanted:?}; its notes are: {}",
                args.src.display(),
                names()
            ))),
        };
    }
    if trees.len() > 1 && !args.all {
        return Err(CliError::usage(format!(
            "{}: holds {} trees ({}); pick one with --note NAME or import them all with --all",
            args.src.display(),
            trees.len(),
            names()
        )));
    }
    Ok(trees)
}

/// A file name from a tree or file name: no folders, no extension, nothing odd.
fn file_stem(name: &str) -> String {
    let name = name.strip_suffix(".md").unwrap_or(name);
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = if name.contains('/') {
        name.replace('/', "-")
    } else {
        base
    };
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_control() || "\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let stem = stem.trim().trim_start_matches('.').to_string();
    if stem.is_empty() {
        "imported".into()
    } else {
        stem
    }
}

/// Where each tree goes; None is stdout.
fn targets(trees: &[ImportedTree], args: &ImportArgs) -> CliResult<Vec<Option<PathBuf>>> {
    let src_name = args
        .src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let src_stem = file_stem(
        src_name
            .split('.')
            .find(|p| !p.is_empty())
            .unwrap_or("imported"),
    );
    let dir = args.src.parent().map(Path::to_path_buf).unwrap_or_default();
    if trees.len() == 1 && !args.all {
        return Ok(vec![match &args.output {
            Some(p) if p.as_os_str() == "-" => None,
            Some(p) => Some(p.clone()),
            None => Some(dir.join(format!("{src_stem}.tloom.json"))),
        }]);
    }
    let folder = match &args.output {
        Some(p) if p.as_os_str() == "-" => {
            return Err(CliError::usage(
                "--all writes one file per tree; give -o a folder, not -",
            ));
        }
        Some(p) => {
            std::fs::create_dir_all(p).map_err(|e| {
                CliError::new(
                    code::IO,
                    format!("{}: cannot create the folder: {e}", p.display()),
                )
            })?;
            p.clone()
        }
        None => dir,
    };
    let mut used = std::collections::HashSet::new();
    Ok(trees
        .iter()
        .map(|t| {
            let base = if t.name.is_empty() {
                src_stem.clone()
            } else {
                file_stem(&t.name)
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            Some(folder.join(format!("{name}.tloom.json")))
        })
        .collect())
}

pub fn export(args: ExportArgs) -> CliResult {
    let path = &args.file.file;
    let loom = read_loom(path)?;
    let title = args.title.clone().or_else(|| {
        let has_own = loom.extra.get("title").is_some_and(|t| t.is_string());
        let stem = path
            .file_name()?
            .to_string_lossy()
            .split('.')
            .next()
            .map(String::from);
        if has_own { None } else { stem }
    });
    let options = ExportOptions {
        node: args.node,
        subtree: args.subtree,
        separators: args.separators,
        front_matter: args.front_matter,
        hide_archived: args.hide_archived,
        title,
    };
    let bytes = export::export(&loom, args.format, &options).map_err(|e| match e {
        ExportError::NoSuchNode(_) | ExportError::SubtreeNotForPath { .. } => {
            CliError::usage(format!("{}: {e}", path.display()))
        }
        ExportError::TooDeep { .. } => {
            CliError::new(code::DATA, format!("{}: {e}", path.display()))
        }
    })?;
    match &args.output {
        Some(out) if out.as_os_str() != "-" => {
            write_atomic(out, &bytes, false).map_err(|(action, e)| {
                CliError::new(code::IO, format!("{}: cannot {action}: {e}", out.display()))
            })
        }
        _ => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(
                    code::IO,
                    format!("cannot write to stdout: {e}"),
                )),
                _ => Ok(()),
            }
        }
    }
}

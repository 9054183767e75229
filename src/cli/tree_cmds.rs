//! Headless tree commands: create, inspect and change a loom file from scripts.

use super::args::*;
use super::error::{CliError, CliResult, code};
use super::path_metrics;
use super::session::{change_loom, pick_node, read_loom, read_text};
use crate::store;
use crate::tree::outline::{self, OutlineOptions};
use crate::tree::{Loom, Query};
use serde_json::json;

pub fn new(args: NewArgs) -> CliResult {
    let path = &args.file.file;
    if path.exists() && !args.force {
        return Err(CliError::new(
            code::FAILURE,
            format!(
                "{}: already exists; use --force to replace it",
                path.display()
            ),
        ));
    }
    let prompt = match (args.prompt, args.prompt_file) {
        (Some(p), _) => p,
        (None, Some(f)) => read_text(None, Some(f), "prompt")?,
        (None, None) => String::new(),
    };
    let _lock = store::FileLock::acquire(path)?;
    let loom = Loom::new(prompt);
    store::save(path, &loom)?;
    println!("{}", loom.root());
    Ok(())
}

pub fn show(args: ShowArgs) -> CliResult {
    let loom = read_loom(&args.file.file)?;
    let id = pick_node(&loom, args.node)?;
    let text = if args.segment {
        loom.node(id)?.text.clone()
    } else {
        loom.path_text(id)?
    };
    println!("{text}");
    Ok(())
}

pub fn tree(args: TreeArgs) -> CliResult {
    let loom = read_loom(&args.file.file)?;
    let from = pick_node(&loom, Some(args.node.unwrap_or(loom.root())))?;
    let options = OutlineOptions {
        ids: true,
        max_chars: (args.width > 0).then_some(args.width),
        include_archived: !args.hide_archived,
    };
    // Streamed: a closed pipe (`tloom tree big.json | head`) ends the output quietly.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match outline::render_to(&loom, from, options, &mut out).and_then(|()| {
        use std::io::Write;
        out.flush()
    }) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(
            code::FAILURE,
            format!("cannot write the outline: {e}"),
        )),
        _ => Ok(()),
    }
}

pub fn stats(args: StatsArgs, threads: Option<usize>) -> CliResult {
    let loom = read_loom(&args.file.file)?;
    let id = pick_node(&loom, Some(args.node.unwrap_or(loom.root())))?;
    let s = loom.stats(id);
    let metrics = args.node.and_then(|_| loom.path_metrics(id));
    let score = match &metrics {
        Some(_) if !args.no_model => {
            match path_metrics::score_path(&loom, id, &args.model, threads) {
                Ok(score) => Some(score),
                Err(e) => {
                    eprintln!(
                        "tloom: intervention bits left out: the path could not be scored: {e}"
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if args.json {
        let mut value = json!({
            "root": loom.root().to_string(),
            "node": id.to_string(),
            "nodes": s.nodes,
            "depth": s.depth,
            "leaves": s.leaves,
            "bookmarks": s.bookmarks,
            "archived": s.archived,
            "model_chars": s.model_chars,
            "human_chars": s.human_chars,
        });
        if let (Some(m), Some(obj)) = (&metrics, value.as_object_mut())
            && let serde_json::Value::Object(fields) = path_metrics::json_fields(m, score.as_ref())
        {
            obj.extend(fields);
        }
        println!("{value:#}");
        return Ok(());
    }
    println!("nodes        {}", s.nodes);
    println!("depth        {}", s.depth);
    println!("leaves       {}", s.leaves);
    println!("bookmarks    {}", s.bookmarks);
    println!("archived     {}", s.archived);
    println!("model chars  {}", s.model_chars);
    println!("human chars  {}", s.human_chars);
    if let Some(m) = &metrics {
        println!("path to {id}:");
        println!("  selection bits     {:.2}", m.selection_bits);
        match &score {
            Some(sc) => println!(
                "  intervention bits  {:.2} ({} human of {} tokens)",
                sc.intervention_bits, sc.human_tokens, sc.tokens
            ),
            None => println!("  intervention bits  -"),
        }
        println!(
            "  nodes kept/generated/archived  {}/{}/{}",
            m.nodes_kept, m.nodes_generated, m.nodes_archived
        );
        println!(
            "  tokens kept/generated          {}/{}",
            m.tokens_kept, m.tokens_generated
        );
        println!(
            "  model-written share            {:.0}%",
            m.model_share() * 100.0
        );
    }
    Ok(())
}

pub fn add(args: AddArgs) -> CliResult {
    let text = read_text(args.text.text, args.text.text_file, "text")?;
    let id = change_loom(&args.file.file, |loom| {
        let at = pick_node(loom, args.node)?;
        Ok(match args.relation {
            Relation::Child => loom.add_child(at, &text)?,
            Relation::Sibling => loom.add_sibling(at, &text)?,
            Relation::Parent => loom.add_parent(at, &text)?,
        })
    })?;
    println!("{id}");
    Ok(())
}

pub fn edit(args: EditArgs) -> CliResult {
    let text = read_text(args.text.text, args.text.text_file, "text")?;
    change_loom(&args.file.file, |loom| Ok(loom.set_text(args.node, &text)?))
}

pub fn split(args: SplitArgs) -> CliResult {
    let parent = change_loom(&args.file.file, |loom| Ok(loom.split(args.node, args.at)?))?;
    println!("{parent}");
    Ok(())
}

pub fn merge(args: NodeArgs) -> CliResult {
    let parent = change_loom(&args.file.file, |loom| {
        Ok(loom.merge_into_parent(args.node)?)
    })?;
    println!("{parent}");
    Ok(())
}

pub fn delete(args: DeleteArgs) -> CliResult {
    let count = change_loom(&args.file.file, |loom| {
        Ok(if args.children {
            loom.delete_children(args.node)?
        } else if args.siblings {
            loom.delete_siblings(args.node)?
        } else {
            let n = loom.stats(args.node).nodes;
            loom.delete(args.node)?;
            n
        })
    })?;
    eprintln!("deleted {count} node{}", if count == 1 { "" } else { "s" });
    Ok(())
}

pub fn archive(args: FlagArgs) -> CliResult {
    change_loom(&args.file.file, |loom| {
        Ok(loom.set_archived(args.node, !args.off)?)
    })
}

pub fn bookmark(args: FlagArgs) -> CliResult {
    change_loom(&args.file.file, |loom| {
        Ok(loom.set_bookmarked(args.node, !args.off)?)
    })
}

pub fn move_node(args: MoveArgs) -> CliResult {
    change_loom(&args.file.file, |loom| {
        let parent = match args.to {
            Some(p) => p,
            None => loom.parent(args.node).ok_or_else(|| {
                CliError::usage(format!("node {} is the root; give --to PARENT", args.node))
            })?,
        };
        Ok(loom.move_node(args.node, parent, args.index)?)
    })
}

pub fn clone(args: CloneArgs) -> CliResult {
    let id = change_loom(&args.file.file, |loom| {
        Ok(loom.clone_subtree(args.node, args.to)?)
    })?;
    println!("{id}");
    Ok(())
}

pub fn search(args: SearchArgs) -> CliResult {
    let loom = read_loom(&args.file.file)?;
    let query = Query {
        pattern: args.pattern,
        regex: args.regex,
        case_sensitive: args.case_sensitive,
        include_archived: args.archived,
    };
    for m in loom.search(&query)? {
        let text = &loom.node(m.node)?.text;
        if args.json {
            let line = json!({"node": m.node.to_string(), "start": m.start, "end": m.end,
                              "match": &text[m.start..m.end]});
            println!("{line}");
        } else {
            println!("{}\t{}", m.node, context_line(text, m.start, m.end));
        }
    }
    Ok(())
}

/// The match with a little context, on one line.
fn context_line(text: &str, start: usize, end: usize) -> String {
    let before: String = text[..start]
        .chars()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[end..].chars().take(30).collect();
    format!("{before}[{}]{after}", &text[start..end]).replace(['\n', '\r', '\t'], " ")
}

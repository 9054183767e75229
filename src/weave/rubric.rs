//! Rubrics: what the weave scores a candidate by. A rubric is a TOML file of weighted
//! criteria (docs/weave.md, examples in `assets/rubrics/`); a candidate's score is the sum
//! of each criterion's value times its weight, every value on a comparable scale (about
//! -1..1), so the criteria add up meaningfully.
//!
//! Model-free criteria: a regex that must (or must not) match, length bounds, the branch's
//! mean token log-probability, repetition. An external command gets the candidate as JSON
//! on stdin and prints a number. A model judge asks a question about the text and reads the
//! log-odds of "Yes" against "No" from a model (through a `Judge`), calibrated against the
//! same question asked of an empty text, so that a question's own bias towards yes or no
//! does not count and every question's value lies in -1..1.

use regex::Regex;
use serde::Deserialize;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What is scored: the text from the root to the candidate node, and the node's own part.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The node's id, as the file writes it.
    pub id: String,
    pub path_text: &'a str,
    pub branch_text: &'a str,
    /// The branch's mean token log-probability, when the backend reported one.
    pub mean_logprob: Option<f32>,
}

/// One criterion's part of a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    /// The criterion's value (before its weight).
    pub value: f64,
    pub weight: f64,
}

/// A candidate's score: the weighted sum of its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub total: f64,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The whole text from the root.
    #[default]
    Path,
    /// The candidate node's own text.
    Branch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegexSpec {
    pattern: String,
    /// True: +1 when it matches, -1 when it does not; false: the other way round.
    #[serde(default = "yes")]
    must_match: bool,
    #[serde(default = "one")]
    weight: f64,
    #[serde(default)]
    on: Scope,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LengthSpec {
    min_chars: Option<usize>,
    max_chars: Option<usize>,
    #[serde(default = "one")]
    weight: f64,
    #[serde(default)]
    on: Scope,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightSpec {
    #[serde(default = "one")]
    weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandSpec {
    /// The program and its arguments.
    run: Vec<String>,
    #[serde(default = "default_timeout")]
    timeout_s: f64,
    #[serde(default = "one")]
    weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JudgeSpec {
    question: String,
    /// Negative weights count a "yes" against the candidate.
    #[serde(default = "one")]
    weight: f64,
}

/// The evaluator prompt: `{text}` and `{question}` are filled in; the model's next word
/// after it is read as the answer.
pub const DEFAULT_JUDGE_PROMPT: &str = "Read the text and answer the question with Yes or No.\n\nText:\n{text}\n\nQuestion: {question}\nAnswer:";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RubricFile {
    /// The judge's prompt template (default `DEFAULT_JUDGE_PROMPT`).
    judge_prompt: Option<String>,
    #[serde(default)]
    judge: Vec<JudgeSpec>,
    #[serde(default)]
    regex: Vec<RegexSpec>,
    length: Option<LengthSpec>,
    mean_logprob: Option<WeightSpec>,
    repetition: Option<WeightSpec>,
    #[serde(default)]
    command: Vec<CommandSpec>,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

fn default_timeout() -> f64 {
    10.0
}

#[derive(Debug, Clone)]
enum Criterion {
    Regex {
        re: Box<Regex>,
        must_match: bool,
        on: Scope,
    },
    Length {
        min: Option<usize>,
        max: Option<usize>,
        on: Scope,
    },
    MeanLogprob,
    Repetition,
    Command {
        run: Vec<String>,
        timeout: Duration,
    },
    Judge {
        question: String,
    },
}

/// A model that answers yes/no questions: the log-odds (natural log) of "Yes" against "No"
/// as the next word after `prompt`.
pub trait Judge {
    fn yes_no(&mut self, prompt: &str) -> Result<f64, String>;
}

/// The judge of rubrics that need none: asking it is an error.
pub(crate) struct NoJudge;

impl Judge for NoJudge {
    fn yes_no(&mut self, _: &str) -> Result<f64, String> {
        Err("the rubric asks a model judge, and no model is at hand".into())
    }
}

/// Log-odds are divided by this before `tanh`: a difference of 2 nats from the calibration
/// point gives a value of 0.76.
const JUDGE_SCALE: f64 = 2.0;

/// A parsed rubric.
#[derive(Debug, Clone)]
pub struct Rubric {
    criteria: Vec<(String, Criterion, f64)>,
    judge_prompt: String,
}

impl Rubric {
    /// Parses a rubric file's text; `source` names it in errors. Relative command paths are
    /// run from the current directory.
    pub fn parse(text: &str, source: &str) -> Result<Rubric, String> {
        let file: RubricFile =
            toml::from_str(text).map_err(|e| format!("{source}: not a rubric: {e}"))?;
        let mut criteria = Vec::new();
        for r in file.regex {
            let re = Regex::new(&r.pattern)
                .map_err(|e| format!("{source}: bad regex {:?}: {e}", r.pattern))?;
            let name = format!(
                "regex {} {:?}",
                if r.must_match {
                    "must match"
                } else {
                    "must not match"
                },
                r.pattern
            );
            criteria.push((
                name,
                Criterion::Regex {
                    re: Box::new(re),
                    must_match: r.must_match,
                    on: r.on,
                },
                r.weight,
            ));
        }
        if let Some(l) = file.length {
            if let (Some(a), Some(b)) = (l.min_chars, l.max_chars)
                && a > b
            {
                return Err(format!(
                    "{source}: length: min_chars {a} is above max_chars {b}"
                ));
            }
            criteria.push((
                "length".into(),
                Criterion::Length {
                    min: l.min_chars,
                    max: l.max_chars,
                    on: l.on,
                },
                l.weight,
            ));
        }
        if let Some(w) = file.mean_logprob {
            criteria.push(("mean logprob".into(), Criterion::MeanLogprob, w.weight));
        }
        if let Some(w) = file.repetition {
            criteria.push(("repetition".into(), Criterion::Repetition, w.weight));
        }
        let judge_prompt = file
            .judge_prompt
            .unwrap_or_else(|| DEFAULT_JUDGE_PROMPT.to_string());
        if !file.judge.is_empty() && !judge_prompt.contains("{text}") {
            return Err(format!(
                "{source}: judge_prompt has no {{text}} to put the candidate in"
            ));
        }
        for j in file.judge {
            if j.question.trim().is_empty() {
                return Err(format!("{source}: judge: the question is empty"));
            }
            criteria.push((
                format!("judge {:?}", j.question),
                Criterion::Judge {
                    question: j.question,
                },
                j.weight,
            ));
        }
        for c in file.command {
            if c.run.is_empty() {
                return Err(format!("{source}: command: run is empty"));
            }
            if !(c.timeout_s > 0.0 && c.timeout_s.is_finite()) {
                return Err(format!("{source}: command: timeout_s must be above 0"));
            }
            criteria.push((
                format!("command {}", c.run.join(" ")),
                Criterion::Command {
                    run: c.run,
                    timeout: Duration::from_secs_f64(c.timeout_s),
                },
                c.weight,
            ));
        }
        if criteria.is_empty() {
            return Err(format!("{source}: the rubric has no criteria"));
        }
        if criteria.iter().any(|(_, _, w)| !w.is_finite()) {
            return Err(format!("{source}: every weight must be a finite number"));
        }
        Ok(Rubric {
            criteria,
            judge_prompt,
        })
    }

    /// Whether scoring needs a model (`score_with` and a `Judge`).
    pub fn needs_judge(&self) -> bool {
        self.criteria
            .iter()
            .any(|(_, c, _)| matches!(c, Criterion::Judge { .. }))
    }

    fn judge_prompt(&self, text: &str, question: &str) -> String {
        self.judge_prompt
            .replace("{question}", question)
            .replace("{text}", text)
    }

    /// Reads and parses a rubric file.
    pub fn load(path: &std::path::Path) -> Result<Rubric, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the rubric {}: {e}", path.display()))?;
        Rubric::parse(&text, &path.display().to_string())
    }

    /// The one-line rubric of `--score-regex`: the path must match `pattern`.
    pub fn from_regex(pattern: &str) -> Result<Rubric, String> {
        let re = Regex::new(pattern).map_err(|e| format!("bad --score-regex {pattern:?}: {e}"))?;
        Ok(Rubric {
            criteria: vec![(
                format!("regex must match {pattern:?}"),
                Criterion::Regex {
                    re: Box::new(re),
                    must_match: true,
                    on: Scope::Path,
                },
                1.0,
            )],
            judge_prompt: DEFAULT_JUDGE_PROMPT.to_string(),
        })
    }

    /// Whether the candidate passes every regex criterion (the weave's "goal reached").
    pub fn passes(&self, c: &Candidate) -> bool {
        self.criteria
            .iter()
            .all(|(_, criterion, _)| match criterion {
                Criterion::Regex { re, must_match, on } => {
                    re.is_match(scoped(c, *on)) == *must_match
                }
                _ => true,
            })
    }

    /// Whether the rubric has a regex criterion (so `passes` means something).
    pub fn has_goal(&self) -> bool {
        self.criteria
            .iter()
            .any(|(_, c, _)| matches!(c, Criterion::Regex { .. }))
    }

    /// Scores a candidate with model-free criteria only (a rubric with judge questions is
    /// an error here: use `score_with`).
    pub fn score(&self, c: &Candidate) -> Result<Score, String> {
        self.score_with(c, &mut NoJudge)
    }

    /// Scores a candidate, asking `judge` the rubric's questions. An external command that
    /// fails, times out or prints no number, or a judge that fails, is an error naming it
    /// (the weave stops cleanly on it).
    pub fn score_with(&self, c: &Candidate, judge: &mut dyn Judge) -> Result<Score, String> {
        let mut parts = Vec::with_capacity(self.criteria.len());
        for (name, criterion, weight) in &self.criteria {
            let value = match criterion {
                Criterion::Regex { re, must_match, on } => {
                    if re.is_match(scoped(c, *on)) == *must_match {
                        1.0
                    } else {
                        -1.0
                    }
                }
                Criterion::Length { min, max, on } => length_value(scoped(c, *on), *min, *max),
                // Nats per token; a typical branch is -1.5..-0.5.
                Criterion::MeanLogprob => c.mean_logprob.map_or(0.0, |v| v as f64),
                Criterion::Repetition => -repetition(c.path_text),
                Criterion::Command { run, timeout } => run_command(run, *timeout, c)?,
                Criterion::Judge { question } => {
                    let asked = judge.yes_no(&self.judge_prompt(c.path_text, question))?;
                    // The question's own lean, asked of no text (a judge may cache it).
                    let lean = judge.yes_no(&self.judge_prompt("", question))?;
                    ((asked - lean) / JUDGE_SCALE).tanh()
                }
            };
            parts.push(Part {
                name: name.clone(),
                value,
                weight: *weight,
            });
        }
        let total = parts.iter().map(|p| p.value * p.weight).sum();
        Ok(Score { total, parts })
    }
}

fn scoped<'a>(c: &Candidate<'a>, on: Scope) -> &'a str {
    match on {
        Scope::Path => c.path_text,
        Scope::Branch => c.branch_text,
    }
}

/// 0 inside the bounds, falling linearly to -1 at twice the distance (or half the length).
fn length_value(text: &str, min: Option<usize>, max: Option<usize>) -> f64 {
    let n = text.chars().count() as f64;
    if let Some(min) = min
        && n < min as f64
    {
        return -((min as f64 - n) / (min as f64).max(1.0)).min(1.0);
    }
    if let Some(max) = max
        && n > max as f64
    {
        return -((n - max as f64) / (max as f64).max(1.0)).min(1.0);
    }
    0.0
}

/// The share (0..1) of word trigrams among the text's last 300 words that occurred before.
pub fn repetition(text: &str) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let words = &words[words.len().saturating_sub(300)..];
    if words.len() < 4 {
        return 0.0;
    }
    let mut seen = std::collections::HashSet::new();
    let mut repeated = 0usize;
    let grams = words.windows(3);
    let total = grams.len();
    for g in grams {
        if !seen.insert(g) {
            repeated += 1;
        }
    }
    repeated as f64 / total as f64
}

/// Runs the user's scorer: the candidate as JSON on stdin, a number on stdout.
fn run_command(run: &[String], timeout: Duration, c: &Candidate) -> Result<f64, String> {
    let name = run.join(" ");
    let mut child = Command::new(&run[0])
        .args(&run[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("the scorer `{name}` did not start: {e}"))?;
    let input = serde_json::json!({
        "id": c.id,
        "text": c.path_text,
        "branch": c.branch_text,
        "mean_logprob": c.mean_logprob,
    })
    .to_string();
    if let Some(mut stdin) = child.stdin.take() {
        // A scorer that does not read its input is allowed to exit early.
        let _ = stdin.write_all(input.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the scorer `{name}` took longer than {:.1} s and was stopped",
                    timeout.as_secs_f64()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("the scorer `{name}` failed: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        let err = err.trim();
        return Err(format!(
            "the scorer `{name}` failed ({status}){}{err}",
            if err.is_empty() { "" } else { ": " }
        ));
    }
    let text = out.trim();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "the scorer `{name}` printed {text:?}, not a number"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate<'a>(path: &'a str, branch: &'a str) -> Candidate<'a> {
        Candidate {
            id: "n".into(),
            path_text: path,
            branch_text: branch,
            mean_logprob: Some(-1.0),
        }
    }

    #[test]
    fn weighted_criteria_add_up_and_regexes_say_pass_or_fail() {
        let r = Rubric::parse(
            r#"
            [[regex]]
            pattern = "lighthouse"
            weight = 2.0
            [[regex]]
            pattern = "(?i)dragon"
            must_match = false
            [length]
            max_chars = 10
            on = "branch"
            [mean_logprob]
            weight = 0.5
            "#,
            "test",
        )
        .expect("parses");
        let c = candidate("the lighthouse keeper", "keeper and his lamp");
        let s = r.score(&c).expect("scores");
        // 2 x 1 (match) + 1 x 1 (no dragon) + length 19 chars over 10: -0.9 + 0.5 x -1.
        assert!((s.total - (2.0 + 1.0 - 0.9 - 0.5)).abs() < 1e-9, "{s:?}");
        assert!(r.passes(&c));
        assert!(!r.passes(&candidate("a dragon lighthouse", "")));
    }

    #[test]
    fn bad_rubrics_are_errors_naming_the_problem() {
        for (text, want) in [
            ("[[regex]]\npattern = \"(\"", "bad regex"),
            ("[lenght]\nmax_chars = 3", "lenght"),
            ("", "no criteria"),
            ("[length]\nmin_chars = 9\nmax_chars = 3", "min_chars"),
            ("[[command]]\nrun = []", "run is empty"),
        ] {
            let e = Rubric::parse(text, "r.toml").expect_err(text);
            assert!(e.contains(want) && e.contains("r.toml"), "{e}");
        }
    }

    #[test]
    fn an_external_scorer_reads_json_and_its_failures_are_clear_errors() {
        let r = Rubric::parse(
            "[[command]]\nrun = [\"sh\", \"-c\", \"grep -c lamp\"]\n",
            "t",
        )
        .expect("parses");
        let s = r.score(&candidate("a lamp", "lamp")).expect("scores");
        assert_eq!(s.total, 1.0);
        let failing = Rubric::parse(
            "[[command]]\nrun = [\"sh\", \"-c\", \"echo boom >&2; exit 3\"]\n",
            "t",
        )
        .expect("parses");
        let e = failing.score(&candidate("x", "x")).expect_err("fails");
        assert!(e.contains("boom") && e.contains("failed"), "{e}");
        let slow = Rubric::parse(
            "[[command]]\nrun = [\"sleep\", \"5\"]\ntimeout_s = 0.2\n",
            "t",
        )
        .expect("parses");
        let e = slow.score(&candidate("x", "x")).expect_err("times out");
        assert!(e.contains("longer than 0.2 s"), "{e}");
        let words =
            Rubric::parse("[[command]]\nrun = [\"echo\", \"high\"]\n", "t").expect("parses");
        let e = words.score(&candidate("x", "x")).expect_err("not a number");
        assert!(e.contains("not a number"), "{e}");
    }

    /// Says yes (log-odds +3) when the text mentions a dragon, else no (-1); counts calls.
    struct Dragons(usize);

    impl Judge for Dragons {
        fn yes_no(&mut self, prompt: &str) -> Result<f64, String> {
            self.0 += 1;
            let text = prompt.split("Text:\n").nth(1).unwrap_or("");
            let text = text.split("\n\nQuestion").next().unwrap_or("");
            Ok(if text.contains("dragon") { 3.0 } else { -1.0 })
        }
    }

    #[test]
    fn judge_questions_are_calibrated_against_an_empty_text_and_weighted() {
        let r = Rubric::parse(
            "[[judge]]\nquestion = \"Is there a dragon?\"\nweight = 2.0\n[[judge]]\nquestion = \"Is it dull?\"\nweight = -1.0\n",
            "judge.toml",
        )
        .expect("parses");
        assert!(r.needs_judge());
        let mut judge = Dragons(0);
        let s = r
            .score_with(&candidate("a dragon flew", "flew"), &mut judge)
            .expect("scores");
        // Each question: tanh((3 - (-1)) / 2) = tanh(2) (the empty text says -1).
        let v = 2f64.tanh();
        assert!((s.total - (2.0 * v - v)).abs() < 1e-9, "{s:?}");
        assert_eq!(judge.0, 4);
        let plain = r
            .score_with(&candidate("a cat", "cat"), &mut judge)
            .expect("scores");
        assert_eq!(plain.total, 0.0, "no lean beyond the question's own");
        let e = r
            .score(&candidate("a dragon", ""))
            .expect_err("needs a model");
        assert!(e.contains("model judge"), "{e}");
        let e = Rubric::parse(
            "judge_prompt = \"Q: {question}\"\n[[judge]]\nquestion = \"x\"\n",
            "j.toml",
        )
        .expect_err("no {text}");
        assert!(e.contains("{text}"), "{e}");
    }

    #[test]
    fn repetition_counts_repeated_trigrams() {
        assert_eq!(repetition("one two three four five"), 0.0);
        let r = repetition("a b c a b c a b c");
        assert!(r > 0.5, "{r}");
    }
}

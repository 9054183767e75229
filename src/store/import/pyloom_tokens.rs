//! Token data in pyloom files: the older per-node `meta.generation.logprobs` (OpenAI's
//! parallel `tokens`/`token_logprobs`/`top_logprobs` lists) and the newer `model_responses`
//! entries nodes point into. Kept only when the tokens spell the node's text.

use crate::tree::{TokenAlt, TokenRecord};
use serde_json::Value;

/// Alternatives from a `{token: logprob}` map, most likely first.
fn alternatives(map: Option<&Value>) -> Vec<TokenAlt> {
    let Some(map) = map.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut alts: Vec<TokenAlt> = map
        .iter()
        .filter_map(|(text, lp)| {
            Some(TokenAlt {
                id: None,
                text: text.clone(),
                logprob: lp.as_f64()? as f32,
            })
        })
        .collect();
    alts.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
    alts
}

/// The tokens that spell `text`: all of them, or a prefix ending exactly where the text
/// ends (the node was cut at a stop sequence or split later). None when they do not fit.
pub fn fit(tokens: Vec<TokenRecord>, text: &str) -> Option<Vec<TokenRecord>> {
    if text.is_empty() || tokens.is_empty() {
        return None;
    }
    let mut pos = 0;
    for (i, t) in tokens.iter().enumerate() {
        if pos == text.len() {
            let mut tokens = tokens;
            tokens.truncate(i);
            return Some(tokens);
        }
        if t.text.is_empty() || !text[pos..].starts_with(&t.text) {
            return None;
        }
        pos += t.text.len();
    }
    (pos == text.len()).then_some(tokens)
}

/// Tokens from OpenAI's completion `logprobs` object, as older pyloom files keep it.
pub fn from_openai_logprobs(lp: &Value, text: &str) -> Option<Vec<TokenRecord>> {
    let tokens = lp.get("tokens")?.as_array()?;
    let logprobs = lp.get("token_logprobs")?.as_array()?;
    let tops = lp.get("top_logprobs").and_then(Value::as_array);
    if tokens.len() != logprobs.len() {
        return None;
    }
    let mut out = Vec::with_capacity(tokens.len());
    for (i, (t, l)) in tokens.iter().zip(logprobs).enumerate() {
        out.push(TokenRecord {
            id: None,
            text: t.as_str()?.to_string(),
            logprob: l.as_f64()? as f32,
            top: alternatives(tops.and_then(|t| t.get(i))),
        });
    }
    fit(out, text)
}

/// Tokens of completion `index` of a pyloom `Response` (`model_responses` entry).
pub fn from_response(response: &Value, index: usize, text: &str) -> Option<Vec<TokenRecord>> {
    let completion = response.get("completions")?.as_array()?.get(index)?;
    let tokens = completion.get("tokens")?.as_array()?;
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        let generated = t.get("generatedToken")?;
        out.push(TokenRecord {
            id: None,
            text: generated.get("token")?.as_str()?.to_string(),
            logprob: generated.get("logprob")?.as_f64()? as f32,
            top: alternatives(t.get("counterfactuals")),
        });
    }
    fit(out, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_are_kept_only_when_they_spell_the_text() {
        let lp = json!({"tokens": [" a", " b", " c"], "token_logprobs": [-0.5, -1.0, -2.0],
                        "top_logprobs": [{" a": -0.5, " x": -1.5}, null, {}]});
        let all = from_openai_logprobs(&lp, " a b c").expect("spells the text");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].top.len(), 2);
        assert_eq!(all[0].top[0].text, " a");
        let cut = from_openai_logprobs(&lp, " a b").expect("a prefix at a token boundary");
        assert_eq!(cut.len(), 2);
        assert!(from_openai_logprobs(&lp, " a bc").is_none());
        assert!(from_openai_logprobs(&lp, "\nGPT: a b c").is_none());
        let nulls = json!({"tokens": ["a"], "token_logprobs": [null]});
        assert!(from_openai_logprobs(&nulls, "a").is_none());
    }

    #[test]
    fn response_tokens_with_counterfactuals() {
        let r = json!({"completions": [{"text": " hi", "tokens": [
            {"generatedToken": {"token": " hi", "logprob": -0.25}, "position": 3,
             "counterfactuals": {" hi": -0.25, " yo": -2.0}}]}]});
        let t = from_response(&r, 0, " hi").expect("fits");
        assert_eq!(t[0].logprob, -0.25);
        assert_eq!(t[0].top[1].text, " yo");
        assert!(from_response(&r, 1, " hi").is_none());
    }
}

//! The optional chat scaffold: renders a model's chat template (GGUF
//! `tokenizer.chat_template`, Jinja) for one user message with the assistant turn opened, so
//! the assistant's reply can be loomed as raw text.

use super::error::{EngineError, Result};
use minijinja::{Environment, Error, ErrorKind, context};

/// End-of-turn markers of common templates, checked in this order.
const END_OF_TURN: &[&str] = &[
    "<|im_end|>",
    "<|eot_id|>",
    "<end_of_turn>",
    "<|end|>",
    "</s>",
];

/// Renders `template` for a conversation of one user message, ending where the assistant's
/// reply begins.
pub fn render_user_turn(
    template: &str,
    user_message: &str,
    bos_token: &str,
    eos_token: &str,
) -> Result<String> {
    let mut env = Environment::new();
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        },
    );
    env.add_template("chat", template).map_err(|e| {
        EngineError::ChatTemplate(format!("the model's chat template does not parse: {e}"))
    })?;
    let tmpl = env
        .get_template("chat")
        .map_err(|e| EngineError::ChatTemplate(e.to_string()))?;
    tmpl.render(context! {
        messages => vec![context! { role => "user", content => user_message }],
        add_generation_prompt => true,
        bos_token => bos_token,
        eos_token => eos_token,
    })
    .map_err(|e| {
        EngineError::ChatTemplate(format!(
            "rendering the model's chat template failed ({e}); use raw completion instead"
        ))
    })
}

/// The token text that ends an assistant turn in `template`, if a known one appears.
pub fn end_of_turn_marker(template: &str) -> Option<&'static str> {
    END_OF_TURN.iter().copied().find(|m| template.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    #[test]
    fn chatml_template_opens_the_assistant_turn() {
        let text = render_user_turn(CHATML, "Hi there", "", "").expect("renders");
        assert_eq!(
            text,
            "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(end_of_turn_marker(CHATML), Some("<|im_end|>"));
    }

    #[test]
    fn a_template_that_raises_reports_an_error() {
        let err = render_user_turn("{{ raise_exception('no users') }}", "x", "", "")
            .expect_err("must fail");
        assert!(err.to_string().contains("no users"), "{err}");
    }
}

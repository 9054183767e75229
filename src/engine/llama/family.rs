//! What differs between the model families our forward pass runs, as data: the one list of
//! supported architectures. Differences that a file shows by which tensors it holds (biases on
//! Q/K/V, per-head Q/K norms, norms after attention and MLP, fused QKV or gate/up matrices) are
//! found by looking for those tensors when loading, not listed here.

/// How rotary embeddings pair the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Dimensions `2i` and `2i + 1` (llama files, whose Q/K rows the converter permuted).
    Pairs,
    /// Dimensions `i` and `i + rope_dim / 2` (the "NeoX" layout).
    Halves,
}

/// The MLP's gate activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `silu(gate) * up` (SwiGLU).
    Silu,
    /// `gelu_tanh(gate) * up` (GeGLU).
    GeluTanh,
}

/// Which layers attend within a sliding window, when the file gives one
/// (`{arch}.attention.sliding_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowLayers {
    /// The window key is ignored: every layer sees the whole context.
    None,
    /// Every layer uses the window.
    All,
    /// Every `n`th layer (layers `n - 1`, `2n - 1`, ...) sees the whole context; the others
    /// use the window.
    AllButEvery(usize),
}

/// One model family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Family {
    /// `general.architecture`, which also prefixes the family's metadata keys.
    pub architecture: &'static str,
    pub rope: RopeStyle,
    pub activation: Activation,
    /// Embeddings are multiplied by `sqrt(hidden)`.
    pub scale_embeddings: bool,
    pub window_layers: WindowLayers,
    /// The rope base of windowed layers, when it differs from `rope.freq_base`.
    pub window_rope_base: Option<f32>,
    /// Layer counts whose queries are scaled by `1/sqrt(hidden / heads)` instead of
    /// `1/sqrt(head_dim)` (Gemma 3 27B).
    pub scale_by_width_at_layers: &'static [usize],
    /// Models people know in this family, for messages and docs.
    pub examples: &'static str,
}

/// Every architecture the local engine runs.
pub const FAMILIES: [Family; 5] = [
    Family {
        architecture: "llama",
        rope: RopeStyle::Pairs,
        activation: Activation::Silu,
        scale_embeddings: false,
        window_layers: WindowLayers::None,
        window_rope_base: None,
        scale_by_width_at_layers: &[],
        examples: "Llama 2, Llama 3.x, Mistral, SmolLM",
    },
    Family {
        architecture: "qwen2",
        rope: RopeStyle::Halves,
        activation: Activation::Silu,
        scale_embeddings: false,
        window_layers: WindowLayers::None,
        window_rope_base: None,
        scale_by_width_at_layers: &[],
        examples: "Qwen 2, Qwen 2.5",
    },
    Family {
        architecture: "qwen3",
        rope: RopeStyle::Halves,
        activation: Activation::Silu,
        scale_embeddings: false,
        window_layers: WindowLayers::None,
        window_rope_base: None,
        scale_by_width_at_layers: &[],
        examples: "Qwen 3",
    },
    Family {
        architecture: "gemma3",
        rope: RopeStyle::Halves,
        activation: Activation::GeluTanh,
        scale_embeddings: true,
        window_layers: WindowLayers::AllButEvery(6),
        window_rope_base: Some(10_000.0),
        scale_by_width_at_layers: &[62],
        examples: "Gemma 3",
    },
    Family {
        architecture: "phi3",
        rope: RopeStyle::Halves,
        activation: Activation::Silu,
        scale_embeddings: false,
        // Phi-3 files name a window of 2047, which llama.cpp ignores (the converters do not
        // say which layers use it); we do the same, so our logits match its.
        window_layers: WindowLayers::None,
        window_rope_base: None,
        scale_by_width_at_layers: &[],
        examples: "Phi-3, Phi-3.5, Phi-4",
    },
];

/// The names in `FAMILIES`, in order.
pub const SUPPORTED_ARCHITECTURES: [&str; FAMILIES.len()] = {
    let mut names = [""; FAMILIES.len()];
    let mut i = 0;
    while i < FAMILIES.len() {
        names[i] = FAMILIES[i].architecture;
        i += 1;
    }
    names
};

/// The family of `architecture`, if we run it.
pub fn family(architecture: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.architecture == architecture)
}

impl Family {
    /// Whether layer `l` attends within the sliding window (when there is one).
    pub fn windowed(&self, l: usize) -> bool {
        match self.window_layers {
            WindowLayers::None => false,
            WindowLayers::All => true,
            WindowLayers::AllButEvery(n) => !(l + 1).is_multiple_of(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemma3_keeps_every_sixth_layer_global() {
        let g = family("gemma3").expect("gemma3");
        let global: Vec<usize> = (0..18).filter(|&l| !g.windowed(l)).collect();
        assert_eq!(global, [5, 11, 17]);
        assert_eq!(SUPPORTED_ARCHITECTURES[0], "llama");
        assert!(family("mamba").is_none());
    }
}

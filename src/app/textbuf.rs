//! A small multi-line text buffer with a caret, for editing node text in place.

/// Text being edited and the caret's byte position in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextBuf {
    pub text: String,
    /// Always on a character boundary, 0..=text.len().
    pub caret: usize,
}

impl TextBuf {
    pub fn new(text: &str, caret: usize) -> TextBuf {
        let mut caret = caret.min(text.len());
        while !text.is_char_boundary(caret) {
            caret -= 1;
        }
        TextBuf {
            text: text.to_string(),
            caret,
        }
    }

    pub fn insert(&mut self, s: &str) {
        self.text.insert_str(self.caret, s);
        self.caret += s.len();
    }

    pub fn backspace(&mut self) {
        if let Some(prev) = self.prev_boundary(self.caret) {
            self.text.replace_range(prev..self.caret, "");
            self.caret = prev;
        }
    }

    pub fn delete(&mut self) {
        if let Some(next) = self.next_boundary(self.caret) {
            self.text.replace_range(self.caret..next, "");
        }
    }

    pub fn left(&mut self) {
        if let Some(p) = self.prev_boundary(self.caret) {
            self.caret = p;
        }
    }

    pub fn right(&mut self) {
        if let Some(n) = self.next_boundary(self.caret) {
            self.caret = n;
        }
    }

    /// Start of the current line.
    pub fn home(&mut self) {
        self.caret = self.line_start(self.caret);
    }

    /// End of the current line.
    pub fn end(&mut self) {
        self.caret = self.text[self.caret..]
            .find('\n')
            .map_or(self.text.len(), |i| self.caret + i);
    }

    pub fn word_left(&mut self) {
        let before = &self.text[..self.caret];
        let trimmed = before.trim_end();
        self.caret = trimmed.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    }

    pub fn word_right(&mut self) {
        let after = &self.text[self.caret..];
        let skip_word = after.find(char::is_whitespace).unwrap_or(after.len());
        let rest = &after[skip_word..];
        let skip_space = rest.len() - rest.trim_start().len();
        self.caret += skip_word + skip_space;
    }

    pub fn up(&mut self) {
        let start = self.line_start(self.caret);
        if start == 0 {
            self.caret = 0;
            return;
        }
        let column = self.text[start..self.caret].chars().count();
        let prev_start = self.line_start(start - 1);
        self.caret = self.at_column(prev_start, column);
    }

    pub fn down(&mut self) {
        let column = self.text[self.line_start(self.caret)..self.caret]
            .chars()
            .count();
        match self.text[self.caret..].find('\n') {
            Some(i) => self.caret = self.at_column(self.caret + i + 1, column),
            None => self.caret = self.text.len(),
        }
    }

    /// The caret as a character offset (what `Loom::split` takes).
    pub fn caret_chars(&self) -> usize {
        self.text[..self.caret].chars().count()
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    fn at_column(&self, line_start: usize, column: usize) -> usize {
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        self.text[line_start..line_end]
            .char_indices()
            .nth(column)
            .map_or(line_end, |(i, _)| line_start + i)
    }

    fn prev_boundary(&self, pos: usize) -> Option<usize> {
        self.text[..pos].char_indices().next_back().map(|(i, _)| i)
    }

    fn next_boundary(&self, pos: usize) -> Option<usize> {
        self.text[pos..].chars().next().map(|c| pos + c.len_utf8())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editing_moves_by_characters_lines_and_words() {
        let mut b = TextBuf::new("héllo\nwörld two", 0);
        b.right();
        b.right();
        assert_eq!(b.caret, 3);
        b.down();
        assert_eq!(&b.text[b.caret..], "rld two");
        b.end();
        b.insert("!");
        assert_eq!(b.text, "héllo\nwörld two!");
        b.word_left();
        assert_eq!(&b.text[b.caret..], "two!");
        b.backspace();
        assert_eq!(b.text, "héllo\nwörldtwo!");
        b.up();
        b.home();
        b.delete();
        assert_eq!(b.text, "éllo\nwörldtwo!");
        assert_eq!(b.caret_chars(), 0);
        let b = TextBuf::new("é", 1);
        assert_eq!(b.caret, 0);
    }
}

//! Config problems: each names the file, the line and the field path, so an operator can fix a broken file
//! in one pass.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// Every problem found in a config file.
#[derive(Debug)]
pub struct ConfigErrors {
    /// The file the errors are about.
    pub path: PathBuf,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

/// One problem: where and what.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted field path, e.g. `sources[3].url`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl ConfigErrors {
    /// A single problem with the file as a whole (it cannot be read, say).
    pub(crate) fn whole_file(path: PathBuf, message: String) -> Self {
        ConfigErrors {
            path,
            errors: vec![ConfigError {
                line: None,
                field: "file".into(),
                message,
            }],
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let path = self.path.display();
            match e.line {
                Some(line) => write!(f, "{path}:{line}: {}: {}", e.field, e.message)?,
                None => write!(f, "{path}: {}: {}", e.field, e.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Byte offset to line number, for spans.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Collects problems as validation goes, so every one of them is reported, not just the first.
pub(crate) struct Problems<'a> {
    lines: &'a LineIndex,
    /// Added to every span: where the piece of the file being read starts (0 for the whole file).
    pub(crate) offset: usize,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(lines: &'a LineIndex) -> Self {
        Problems {
            lines,
            offset: 0,
            errors: Vec::new(),
        }
    }

    /// Records a problem at `span` (a byte range of the piece being read), if known.
    pub(crate) fn add(
        &mut self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.errors.push(ConfigError {
            line: span.map(|s| self.lines.line(s.start + self.offset)),
            field: field.into(),
            message: message.into(),
        });
    }
}
